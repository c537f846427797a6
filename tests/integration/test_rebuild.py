"""`dossier-stream rebuild`: recompute from the stored events under new rules, switch, report.

One province (June–July 2026) is run once through the real pipeline under the rules
before Decree 252/2026 (tax limit 5 working days throughout); each test rebuilds a
copy of that store under other rules.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from stream_app.cli import main
from stream_app.domain.calendar import TZ, WorkingCalendar
from stream_app.jobs.rebuild import drop, listing, rebuild, revert
from stream_app.replay.generate import generate
from stream_app.settings import Settings
from tests.integration.helpers import query, run, settings_for, snapshot

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).parents[2] / "stream_app" / "data" / "catalog.csv"
JULY = date(2026, 7, 1)
FAST_GROUP = {"session_timeout_s": 3.0, "heartbeat_interval_s": 1.0}


def catalog_file(path: Path, *, drop_decree: bool = True, limits: dict[str, str] | None = None) -> Path:
    """The shipped catalog, without the 2026-07-01 row and/or with other land limits."""
    lines = SHIPPED.read_text("utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        if drop_decree and line.endswith(",2026-07-01"):
            continue
        code = line.split(",", 1)[0]
        if limits and code in limits:
            head, name_and_rest = line.split(",", 1)
            name, rest = (name_and_rest.rsplit('"', 1) if name_and_rest.startswith('"')
                          else name_and_rest.split(",", 1))
            fields = rest.lstrip(",").split(",")
            fields[0] = limits[code]
            name = name + '"' if name_and_rest.startswith('"') else name
            line = ",".join([head, name, *fields])
        out.append(line)
    path.write_text("\n".join(out) + "\n", "utf-8")
    return path


@pytest.fixture(scope="module")
def before_decree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, catalog): the province run under the old tax limit."""
    tmp = tmp_path_factory.mktemp("rebuild")
    path = tmp / "province.jsonl"
    generate(path, months=2, seed=5, dossiers_per_month=150, start=date(2026, 6, 1))
    catalog = catalog_file(tmp / "catalog_before.csv")
    run(path, tmp / "store", catalog=catalog, **FAST_GROUP)
    return tmp / "store", catalog


def copy_of(before_decree: tuple[Path, Path], tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(before_decree[0], store, symlinks=True)  # chDB links metadata with relative symlinks
    return store


def states(store: Path, database: str = "dossier") -> dict[str, dict[str, Any]]:
    client_rows = query(store, f"SELECT * FROM {database}.dossier_state FINAL")
    cols = [r[0] for r in query(store, f"SELECT name FROM system.columns WHERE database = '{database}' "
                                       "AND table = 'dossier_state' ORDER BY position")]
    out = {}
    for row in client_rows:
        d = {c: v for c, v in zip(cols, row) if c not in ("updated_at", "version")}
        out[d["dossier_id"]] = d
    return out


def alerts_by_dossier(store: Path, database: str = "dossier") -> dict[str, set[tuple[Any, ...]]]:
    out: dict[str, set[tuple[Any, ...]]] = {}
    for aid, did, kind, fires_at, retracted in query(
            store, f"SELECT alert_id, dossier_id, kind, fires_at, retracted FROM {database}.alerts FINAL"):
        out.setdefault(did, set()).add((aid, kind, fires_at, retracted))
    return out


def test_a_rebuild_under_unchanged_rules_reproduces_the_pipelines_tables(before_decree, tmp_path):
    store = copy_of(before_decree, tmp_path)
    result = rebuild(settings_for(store, catalog=before_decree[1]))
    assert result.switched and result.kept == "dossier_rebuild_1" and result.refused == 0
    assert not result.changes
    assert snapshot(store, "dossier") == snapshot(store, "dossier_rebuild_1")


def test_the_shorter_tax_limit_applies_from_1_july_2026_and_only_then(before_decree, tmp_path):
    """Each month is recomputed under the rules then in force: June keeps 5 working days, July gets 3."""
    store = copy_of(before_decree, tmp_path)
    old = states(store)
    result = rebuild(settings_for(store))  # the shipped catalog, with the 2026-07-01 row
    new = states(store)
    cal = WorkingCalendar.load()

    taxed = {d: s for d, s in new.items() if s["sent_to_tax_at"] is not None and s["procedure_code"] == "1.012711"}
    july = {d for d, s in taxed.items() if cal.local_date(s["sent_to_tax_at"]) >= JULY}
    june = set(taxed) - july
    assert june and july
    for d, s in taxed.items():
        days = 3 if d in july else 5
        assert s["tax_due_at"] == cal.add_days(s["sent_to_tax_at"], days), d
        assert old[d]["tax_due_at"] == cal.add_days(s["sent_to_tax_at"], 5), d

    assert result.changes.dossier_ids == july
    assert {m.column for m in result.changes.dossiers} == {"tax_due_at"}
    changed_alerts = result.changes.alerts_added + result.changes.alerts_retracted
    assert {a.kind for a in changed_alerts} <= {"tax_overdue"}
    assert {a.dossier_id for a in changed_alerts} <= july
    assert all(f.month >= JULY for f in result.changes.monthly)
    for d in set(old) - july:  # nothing else moved
        assert new[d] == old[d], d


def test_a_catalog_change_moves_exactly_the_affected_dossiers(before_decree, tmp_path):
    store = copy_of(before_decree, tmp_path)
    old, old_alerts = states(store), alerts_by_dossier(store)
    edited = catalog_file(tmp_path / "catalog.csv", limits={"1.012713": "7"})
    result = rebuild(settings_for(store, catalog=edited))
    new, new_alerts = states(store), alerts_by_dossier(store)

    affected = {d for d, s in old.items() if s["procedure_code"] == "1.012713"}
    with_due = {d for d in affected if old[d]["due_at"] is not None}
    assert with_due and with_due <= result.changes.dossier_ids <= affected
    for d in with_due:
        assert new[d]["due_at"] > old[d]["due_at"]  # a longer limit only moves due times later
    for d in set(old) - affected:
        assert new[d] == old[d], d
        assert new_alerts.get(d) == old_alerts.get(d), d
    assert {a.dossier_id for a in result.changes.alerts_added + result.changes.alerts_retracted} <= affected


def test_a_corrected_holiday_table_applies_by_date(before_decree, tmp_path):
    """A new day off on Wed 15 July 2026 moves only dossiers whose time ran over that day (via the CLI).

    A dossier's time runs from its receipt to the latest of its due times and its end: a due
    time counted across the 15th moves even when the dossier finished before it."""
    store = copy_of(before_decree, tmp_path)
    old = states(store)
    extra = tmp_path / "calendar.toml"
    extra.write_text('[[day_off]]\ndate = 2026-07-15\nreason = "Nghỉ đột xuất"\n', "utf-8")
    assert main(["rebuild", "--calendar", str(extra), "--catalog", str(before_decree[1]), "--no-progress",
                 "--clickhouse", f"chdb://{store}", "--log-format", "json"]) == 0
    new = states(store)
    day_start, day_end = datetime(2026, 7, 15, tzinfo=TZ), datetime(2026, 7, 16, tzinfo=TZ)
    moved = {d for d in old if new[d] != old[d]}
    assert moved
    for d in moved:
        s = old[d]
        assert s["received_at"] < day_end, d
        ends = [s[c] for c in ("due_at", "tax_due_at", "finished_at") if s[c] is not None]
        assert s["finished_at"] is None or max(ends) >= day_start, d
        if s["due_at"] is not None and new[d]["due_at"] is not None:
            assert new[d]["due_at"] >= s["due_at"], d
    untouched = {d for d, s in old.items() if s["finished_at"] is not None
                 and max(s[c] for c in ("due_at", "tax_due_at", "finished_at") if s[c] is not None) < day_start}
    assert untouched and not (untouched & moved)


def test_dry_run_switches_nothing_and_revert_switches_back(before_decree, tmp_path):
    store = copy_of(before_decree, tmp_path)
    original = snapshot(store)
    s: Settings = settings_for(store)
    assert rebuild(s).switched  # the decree moves July's tax due times
    rebuilt = snapshot(store)
    assert rebuilt != original

    preview = rebuild(s, dry_run=True)
    assert not preview.switched and not preview.changes  # the same rules again: nothing would change
    assert [name for name, *_ in listing(s)] == ["dossier_rebuild_1"]

    revert(s, "dossier_rebuild_1")
    assert snapshot(store) == original
    assert snapshot(store, "dossier_rebuild_1") == rebuilt
    drop(s, "dossier_rebuild_1")
    assert listing(s) == []
    with pytest.raises(ValueError, match="not a rebuild database"):
        drop(s, "dossier")
