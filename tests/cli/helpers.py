"""The console script as a user runs it: a subprocess with its own environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, store: Path | None = None, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DOSSIER_LOG_FORMAT": "json", **env}
    if store is not None:
        environment["DOSSIER_CLICKHOUSE"] = f"chdb://{store}"
    return subprocess.run([sys.executable, "-m", "stream_app.cli", *args], env=environment, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def hold(store: Path) -> subprocess.Popen[str]:
    """Another process that holds an embedded store open (as a running worker would)."""
    code = ("import sys, time, clickhouse_connect; c = clickhouse_connect.get_client(dsn=sys.argv[1]); "
            "c.query('SELECT 1'); print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, f"chdb://{store}"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc
