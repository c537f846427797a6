"""`dossier-stream sync`: the portal's sync records through the whole pipeline (issue 21).

The same synthetic province, written as lifecycle events and as sync envelopes, gives the
same tables wherever the sync format carries the information. It does not carry apology
letters (`extended`, hence `late_extension` and `extended_due_at`), the tax office, the
signed flag, the exact time of a tax notice (a day only), nor the events' own ids; so
`overdue_cause` (tax) and `tax_overdue` alerts may differ, dossier versions count other
events, and the sync path may emit an alert a late record then retracts (only the
standing alerts are compared). docs/ingest.md lists the same.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stream_app.jobs.stack import kafka_bootstrap
from stream_app.jobs.sync import SyncSummary, sync_file
from stream_app.replay.generate import generate
from tests.integration.helpers import query, run, settings_for

pytestmark = pytest.mark.integration

STATE = ("dossier_id, procedure_code, receiving_unit, current_unit, channel, status, received_at, due_at, "
         "finished_at, outcome, classification, supplements, sent_to_tax_at, tax_due_at, paid_at, payment_channel, "
         "result_attached_at, result_returned_at, unit_hours, overdue_unit, active")
ALERTS = ("SELECT alert_id, kind, dossier_id, unit, receiving_unit, fires_at, due_at, message FROM dossier.alerts FINAL "
          "WHERE NOT retracted AND kind NOT IN ('tax_overdue', 'late_extension')")
MONTHLY = ("SELECT month, unit, received, finished, finished_early, finished_on_time, finished_overdue, "
           "open_at_month_end, open_overdue_at_month_end, timeliness_score, digitised, payments, payments_online "
           "FROM dossier.monthly_report")
EVENTS = ("SELECT dossier_id, event_type, occurred_at, agency_code, procedure_code, channel, to_unit, outcome, "
          "document_ref FROM dossier.events FINAL WHERE event_type NOT IN ('extended', 'tax_notice_issued')")


def sync(path: Path, store: Path, **kw: Any) -> SyncSummary:
    s = settings_for(store, **kw)
    with kafka_bootstrap(s) as bootstrap:
        return asyncio.run(sync_file(s, path, bootstrap=bootstrap))


def tables(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    out = {name: sorted(query(store, sql), key=repr) for name, sql in (
        ("dossier_state", f"SELECT {STATE} FROM dossier.dossier_state FINAL"),
        ("alerts", ALERTS), ("monthly_report", MONTHLY), ("events", EVENTS))}
    out["dossier_state"] = [tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in r)
                            for r in out["dossier_state"]]
    return out


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("province")
    kw = {"months": 1, "seed": 5, "dossiers_per_month": 150, "start": date(2023, 10, 1)}
    generate(folder / "events.jsonl", whole_seconds=True, **kw)
    generate(folder / "dvcqg.jsonl", format="dvcqg", **kw)
    return folder / "events.jsonl", folder / "dvcqg.jsonl"


@pytest.fixture(scope="module")
def synced(province: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("synced") / "store"
    sync(province[1], store)
    return store


def test_the_same_province_as_events_and_as_sync_records_gives_the_same_tables(
        province: tuple[Path, Path], synced: Path, tmp_path: Path):
    run(province[0], tmp_path / "events")
    as_events, as_sync = tables(tmp_path / "events"), tables(synced)
    assert len(as_sync["dossier_state"]) > 200 and len(as_sync["alerts"]) > 50
    for name in as_events:
        assert as_sync[name] == as_events[name], name


def test_syncing_the_same_file_again_changes_no_table(province: tuple[Path, Path], synced: Path, tmp_path: Path):
    store = tmp_path / "store"
    sync(province[1], store)
    first = tables(store) | {"seen": query(store, "SELECT dossier_id, snapshot, version FROM dossier.sync_dossiers FINAL ORDER BY 1")}
    again = sync(province[1], store)
    assert again.sync["event.received"] == 0 and again.stats.get("applied", 0) == 0
    assert tables(store) | {"seen": query(store, "SELECT dossier_id, snapshot, version FROM dossier.sync_dossiers FINAL ORDER BY 1")} == first


def test_a_file_split_in_two_continues_from_what_was_seen(province: tuple[Path, Path], synced: Path, tmp_path: Path):
    lines = province[1].read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "a.jsonl").write_bytes(b"".join(lines[:half]))
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines[half:]))
    store = tmp_path / "store"
    sync(tmp_path / "a.jsonl", store)
    second = sync(tmp_path / "b.jsonl", store)
    assert second.restored > 0
    assert tables(store) == tables(synced)


def test_unmappable_records_are_dead_letters_with_their_reason(synced: Path):
    rows = query(synced, "SELECT error_code, count() FROM dossier.dead_letters GROUP BY 1 ORDER BY 1")
    assert {code for code, _ in rows} == {"invalid_json", "unmapped_record"}
    [detail] = query(synced, "SELECT any(error_detail) FROM dossier.dead_letters WHERE error_code = 'unmapped_record'")[0]
    assert detail.startswith("TrangThaiHoSo '99' is not in the status mapping (DOSSIER_SYNC_MAPPING [status])")


def test_the_command_takes_a_gzip_file_and_fires_the_timers_up_to_as_of(province: tuple[Path, Path], synced: Path,
                                                                         tmp_path: Path):
    import gzip

    from tests.cli.helpers import cli

    packed = tmp_path / "dvcqg.jsonl.gz"
    packed.write_bytes(gzip.compress(province[1].read_bytes()))
    done = cli("sync", "--file", str(packed), "--as-of", "2024-01-31T00:00:00+07:00", "--no-progress",
               store=tmp_path / "store", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert query(tmp_path / "store", "SELECT count() FROM dossier.events FINAL") == \
        query(synced, "SELECT count() FROM dossier.events FINAL")
    latest = "SELECT max(fires_at) FROM dossier.alerts FINAL"
    (later,), (by_default,) = query(tmp_path / "store", latest), query(synced, latest)  # the file's last record
    assert later[0] > by_default[0] and later[0].date().isoformat() <= "2024-01-31"
