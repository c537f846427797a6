"""Shared inputs of the reliability tests: a small province and its clean run."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stream_app.replay.generate import generate
from tests.reliability.helpers import DOSSIER_STREAM, cli_env, tables


@dataclass(frozen=True)
class CleanRun:
    events: Path
    store: Path
    tables: dict[str, list[tuple[Any, ...]]]
    log: str  # what `dossier-stream run` wrote to stdout and stderr


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1 100 lines: ~150 dossiers a month, with malformed and duplicate lines, and
    personal fields outside the contract (name and phone from the generator; a citizen
    ID number added here wherever a name is)."""
    path = tmp_path_factory.mktemp("province") / "province.jsonl"
    generate(path, months=1, seed=3, dossiers_per_month=150, start=date(2023, 10, 1))
    lines = []
    for n, line in enumerate(path.read_bytes().splitlines()):
        if b'"applicant_name"' in line and line.endswith(b"}"):
            line = line[:-1] + b',"id_number":"%012d"}' % (79_203_000_000 + n)
        lines.append(line)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="session")
def clean(province: Path, tmp_path_factory: pytest.TempPathFactory) -> CleanRun:
    """One uninterrupted `dossier-stream run` of the province: what every disturbed run must equal."""
    store = tmp_path_factory.mktemp("clean") / "store"
    done = subprocess.run([DOSSIER_STREAM, "run", "--events", str(province), "--no-progress"],
                          env=cli_env(store), capture_output=True, timeout=180)
    log = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode == 0, log
    return CleanRun(province, store, tables(store), log)
