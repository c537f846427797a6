"""`dossier-stream export`: the stored events in the input format; export then replay gives the same tables."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from stream_app.cli import main
from stream_app.domain.calendar import TZ
from stream_app.replay.export import Selection, event_object, export
from stream_app.replay.resume import Checkpoint
from stream_app.schemas.parse import DeadLetter, parse_event
from stream_app.store.client import connect
from tests.integration.helpers import query, snapshot
from tests.replay.conftest import FAST_GROUP, embedded_replay, store_settings

ROW = {
    "event_id": "e1", "event_type": "extended", "dossier_id": "D1", "agency_code": "000.22.31.H53",
    "occurred_at": datetime(2024, 3, 4, 9, 0, tzinfo=TZ), "procedure_code": None, "channel": None,
    "source_due_at": None, "to_unit": None, "tax_office": None,
    "new_due_at": datetime(2024, 3, 20, 17, 0, 0, 250_000, tzinfo=TZ), "outcome": None, "document_ref": None,
    "signed": None, "schema_version": 1,
}


def test_a_row_becomes_the_contract_object():
    assert event_object(ROW) == {
        "event_id": "e1", "event_type": "extended", "dossier_id": "D1", "occurred_at": "2024-03-04T09:00:00+07:00",
        "agency_code": "000.22.31.H53", "new_due_at": "2024-03-20T17:00:00.250+07:00",
    }


def test_the_object_parses_back_to_the_same_event():
    raw = orjson.dumps(event_object({**ROW, "schema_version": 2}))
    parsed = parse_event(raw, key=b"D1", source="x:1")
    assert not isinstance(parsed, DeadLetter)
    assert (parsed.occurred_at, parsed.new_due_at, parsed.schema_version) == (ROW["occurred_at"], ROW["new_due_at"], 2)


def _exported(store: Path, selection: Selection, out: Path, fmt: str = "jsonl") -> int:
    client = connect(f"chdb://{store}")
    try:
        return export(client, "dossier", selection, fmt, out).events
    finally:
        client.close()


def test_since_until_and_unit_select_what_is_exported(replayed: Path, tmp_path: Path):
    since, until = datetime(2024, 1, 10, tzinfo=TZ), datetime(2024, 1, 20, tzinfo=TZ)
    [(unit,)] = query(replayed, "SELECT agency_code FROM dossier.events WHERE event_type = 'received' "
                                "GROUP BY agency_code ORDER BY count() DESC LIMIT 1")
    n = _exported(replayed, Selection(since, until, (unit,)), tmp_path / "part.jsonl")
    [(expected,)] = query(replayed, """
        SELECT count() FROM dossier.events FINAL
        WHERE occurred_at >= {s:DateTime64(3, 'Asia/Ho_Chi_Minh')}
          AND occurred_at < {u:DateTime64(3, 'Asia/Ho_Chi_Minh')}
          AND dossier_id IN (SELECT dossier_id FROM dossier.events
                             WHERE event_type = 'received' AND agency_code = {a:String})
    """, s=since, u=until, a=unit)
    lines = [orjson.loads(line) for line in (tmp_path / "part.jsonl").read_bytes().splitlines()]
    assert n == len(lines) == expected > 0
    assert [e["occurred_at"] for e in lines] == sorted(e["occurred_at"] for e in lines)


@pytest.mark.integration
def test_export_then_replay_gives_identical_tables(replayed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Through the CLI, as a data engineer types it; dead letters are input noise, not events."""
    for k, v in FAST_GROUP.items():
        monkeypatch.setenv(f"DOSSIER_{k.upper()}", str(v))
    out = tmp_path / "events.jsonl.gz"
    assert main(["export", "--out", str(out), "--clickhouse", f"chdb://{replayed}", "--log-format", "json"]) == 0
    assert main(["replay", "--source", str(out), "--no-progress", "--checkpoint-dir", str(tmp_path / "cp"),
                 "--clickhouse", f"chdb://{tmp_path / 'again'}", "--log-format", "json"]) == 0
    original, again = snapshot(replayed), snapshot(tmp_path / "again")
    for table in ("events", "dossier_state", "alerts"):
        assert again[table] == original[table], table
    assert again["dead_letters"] == []


@pytest.mark.integration
def test_a_parquet_export_replays_to_identical_tables(replayed: Path, tmp_path: Path):
    out = tmp_path / "events.parquet"
    assert _exported(replayed, Selection(), out, "parquet") > 0
    cp = Checkpoint.open(tmp_path, "pq", "k", source="s", fingerprint="", resume=False)
    assert embedded_replay(store_settings(tmp_path / "again"), out, cp).complete
    original, again = snapshot(replayed), snapshot(tmp_path / "again")
    for table in ("events", "dossier_state", "alerts"):
        assert again[table] == original[table], table


@pytest.mark.integration
def test_replay_from_the_store_into_another_database(replayed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`--source clickhouse`: the stored events of one database through the worker into another."""
    for k, v in FAST_GROUP.items():
        monkeypatch.setenv(f"DOSSIER_{k.upper()}", str(v))
    store = tmp_path / "store"
    shutil.copytree(replayed, store, symlinks=True)  # chDB links its metadata with relative symlinks
    assert main(["replay", "--source", "clickhouse", "--source-database", "dossier", "--database", "copy",
                 "--no-progress", "--checkpoint-dir", str(tmp_path / "cp"), "--clickhouse", f"chdb://{store}",
                 "--log-format", "json"]) == 0
    original, copy = snapshot(store, "dossier"), snapshot(store, "copy")
    for table in ("events", "dossier_state", "alerts"):
        assert copy[table] == original[table], table
