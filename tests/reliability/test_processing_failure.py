"""A bug meets the stream: one dossier's record is set aside; a broken pipeline stops.

Bad input is a dead letter (test_hostile.py). A valid record whose processing raises is
a `processing_error` dead letter: its dossier's later events follow it, every other
dossier's tables are those of a clean run, and a `rebuild` after the fix processes them.
A failure outside one dossier's processing (the whole batch) is a bug in the pipeline:
the job stops at once with `ProcessingFailed`, nothing of the batch acknowledged, and
the command exits 1 with the error. They run in a subprocess, as a user runs them: a
Faust app whose agent crashed never finishes its own stop, so the CLI leaves the process
at once (`cli._or_exit`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import query, snapshot, write_jsonl

pytestmark = pytest.mark.integration

# The processor raises on the batch holding dossier 0007, as a bug would.
SCRIPT = """
import sys
from stream_app.core.processor import Processor
real = Processor.process
def broken(self, records):
    if any(b"-0007" in r.raw for r in records):
        raise ZeroDivisionError("a bug in the processor")
    return real(self, records)
Processor.process = broken
from stream_app.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_batch_that_raises_stops_the_job_with_its_error_instead_of_hanging(tmp_path: Path, command: str):
    path = write_jsonl(tmp_path / "e.jsonl", [
        {"event_id": f"d{i}:1", "event_type": "received", "dossier_id": f"000.22.31.H53-240304-{i:04d}",
         "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": "000.22.31.H53", "procedure_code": "1.012711"}
        for i in range(20)])
    env = {**os.environ, "DOSSIER_CLICKHOUSE": f"chdb://{tmp_path / 'store'}"}

    args = (["run", "--events", str(path)] if command == "run" else
            ["replay", "--source", str(path), "--speed", "max", "--checkpoint-dir", str(tmp_path / "cp")])
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args, "--no-progress", "--log-format", "json"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])

    assert done.returncode == 1, done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert "pipeline.failed" in output and "ZeroDivisionError" in output
    assert "ProcessingFailed" in output and "processing stopped" in output


# History.add raises for one dossier's every event after its `received`, as a bug would.
ONE_DOSSIER = """
import sys
from stream_app.domain.history import DossierHistory
real = DossierHistory.add
def broken(self, ev, rules):
    if ev.dossier_id.endswith("-0007") and ev.event_type != "received":
        raise ZeroDivisionError("a bug in the state machine")
    return real(self, ev, rules)
DossierHistory.add = broken
from stream_app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(script: str | None, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOSSIER_CLICKHOUSE": f"chdb://{store}"}
    head = [sys.executable, "-c", script] if script else [sys.executable, "-m", "stream_app.cli"]
    return subprocess.run([*head, *args, "--log-format", "json"], env=env, capture_output=True, text=True,
                          timeout=180, cwd=Path(__file__).parents[2])


def _without(rows: dict[str, list[tuple]], dossier: str) -> dict[str, list[tuple]]:
    return {t: [r for r in rs if not any(isinstance(v, str) and dossier in v for v in r)] for t, rs in rows.items()}


def test_a_record_that_makes_the_processor_raise_is_set_aside_and_the_run_carries_on(tmp_path: Path):
    lives = []
    for i in range(1, 13):
        d = f"000.22.31.H53-240304-{i:04d}"
        lives += [
            {"event_id": f"{d}:1", "event_type": "received", "dossier_id": d, "occurred_at": "2024-03-04T09:00:00+07:00",
             "agency_code": "000.22.31.H53", "procedure_code": "1.012711"},
            {"event_id": f"{d}:2", "event_type": "transferred", "dossier_id": d,
             "occurred_at": "2024-03-05T09:00:00+07:00", "agency_code": "000.22.31.H53", "to_unit": "001.22.31.H53"},
            {"event_id": f"{d}:3", "event_type": "concluded", "dossier_id": d,
             "occurred_at": "2024-03-20T09:00:00+07:00", "agency_code": "001.22.31.H53", "outcome": "approved"},
        ]
    path = write_jsonl(tmp_path / "e.jsonl", sorted(lives, key=lambda e: (e["occurred_at"], e["event_id"])))

    assert _cli(None, tmp_path / "clean", "run", "--events", str(path), "--no-progress").returncode == 0
    done = _cli(ONE_DOSSIER, tmp_path / "store", "run", "--events", str(path), "--no-progress")

    assert done.returncode == 0, done.stderr[-2000:]
    assert "processing_error: 2" in done.stdout  # the summary counts them
    logged = [line for line in done.stderr.splitlines() if '"processing.error"' in line]
    assert len(logged) == 1 and "-0007" in logged[0] and "e.jsonl:" in logged[0]
    dead = query(tmp_path / "store", "SELECT error_code, source FROM dossier.dead_letters FINAL ORDER BY source")
    assert [code for code, _ in dead] == ["processing_error", "processing_error"]
    assert _without(snapshot(tmp_path / "store"), "-0007") == _without(snapshot(tmp_path / "clean"), "-0007")

    # After the fix (no patch), a rebuild processes the records set aside: the tables of a clean run.
    rebuilt = _cli(None, tmp_path / "store", "rebuild", "--no-progress")
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    after = snapshot(tmp_path / "store")
    clean = snapshot(tmp_path / "clean")
    assert after["dead_letters"] == clean["dead_letters"] == []
    for table in ("events", "dossier_state", "alerts"):
        assert after[table] == clean[table], table
