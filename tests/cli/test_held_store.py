"""An embedded store another process holds: every command says so and exits 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import cli, hold
from tests.integration.helpers import write_jsonl

pytestmark = pytest.mark.integration

EVENT = {"event_id": "e1", "event_type": "received", "dossier_id": "000.22.31.H53-240304-0001",
         "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": "000.22.31.H53", "procedure_code": "1.012711"}


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory):
    store = tmp_path_factory.mktemp("held") / "store"
    proc = hold(store)
    yield store
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("command", [
    ["run", "--events", "{file}", "--no-progress"],
    ["report", "--month", "2024-03"],
    ["export", "--format", "jsonl"],
    ["rebuild", "--dry-run", "--no-progress"],
    ["replay", "--source", "clickhouse", "--no-progress"],
    ["worker"],
], ids=lambda c: c[0])
def test_a_held_store_is_a_clear_message_and_exit_2(held: Path, tmp_path: Path, command: list[str]):
    events = write_jsonl(tmp_path / "e.jsonl", [EVENT])
    done = cli(*[a.replace("{file}", str(events)) for a in command], store=held, timeout=120)

    assert done.returncode == 2, done.stderr[-1500:]
    assert "held by another process" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
