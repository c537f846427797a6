"""Child processes the product starts: a free loopback port for them, and dying with us.

The embedded broker, a served store and worker processes are children of the command a
user started. Each asks the kernel to stop it when its parent dies, even by kill -9
(`PR_SET_PDEATHSIG`), so no child outlives the command.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In a child process: stop (SIGTERM) when the parent dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def end(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Ask a child to stop (SIGTERM); kill it if it has not within `grace_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# A stream job holds millions of small, long-lived objects (dossiers, their events, alert
# specs); CPython's default thresholds (700, 10, 10) walk them again and again. Measured on
# the processor alone: 1.2-1.3x the events per second (docs/performance.md).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """For a long-running job, after its start-up state is built: what exists now is kept
    out of the collector's walks (`gc.freeze`), and young objects are collected less often.
    Objects are still freed as soon as nothing refers to them."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
