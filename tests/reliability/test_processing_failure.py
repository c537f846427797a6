"""A batch that fails to process (a bug, not bad input) stops the job with a clear error.

Bad input is a dead letter (test_hostile.py). An exception inside the pipeline is a
bug: before, Faust restarted the crashed agent, which crashed again on every batch
while `run` waited forever. Now the job stops at once with `ProcessingFailed`, nothing
of the batch is acknowledged, and the command exits 1 with the error. It runs in a
subprocess, as a user runs it: a Faust app whose agent crashed never finishes its own
stop, so the CLI leaves the process at once (`cli._or_exit`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import write_jsonl

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
