"""Run one measurement in a fresh process and read its peak RSS; profile it.

A measurement is a module-level function returning a JSON-ready dict. It runs
in a spawned interpreter (nothing inherited: no Faust app, no chDB engine, no
warm caches from an earlier measurement), and its result gains the child's
peak resident set size. Memory helpers for the measurements live here too, and
`profiled`, which records a process with py-spy while a block runs.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterator

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def settled_rss() -> int:
    """RSS after a full garbage collection (what the live objects hold, plus allocator slack)."""
    gc.collect()
    return rss_bytes()


def peak_rss_of(pid: int) -> int | None:
    """Peak RSS (VmHWM) of a running process, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _measured(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    from stream_app import logs

    logs.configure("json", "WARNING")  # as the product's entry point does; quiet library loggers
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    result.setdefault("wall_s", round(time.perf_counter() - t0, 3))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a spawned child
    # would report the parent's peak when that is higher than its own.
    result["peak_rss_bytes"] = peak_rss_of(os.getpid())
    return result


def isolated(fn: Callable[..., dict[str, Any]], *args: Any, timeout_s: float | None = None,
             **kwargs: Any) -> dict[str, Any]:
    """`fn(*args, **kwargs)` in a new process; its result plus `peak_rss_bytes` and the load before it."""
    load_before = os.getloadavg()[0]
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        result = pool.submit(_measured, fn, args, kwargs).result(timeout=timeout_s)
    result["load_1min_before"] = round(load_before, 2)
    return result


@contextlib.contextmanager
def profiled(pid: int, out: str | None) -> Iterator[None]:
    """Record process `pid` with py-spy into `out` (collapsed stacks, one per line) while the block runs.

    The collapsed format opens in speedscope or flamegraph.pl and greps well.
    Nothing happens when `out` is None or py-spy is not installed.
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if out is None or not Path(spy).exists():
        yield
        return
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "100", "--threads", "--format", "raw",
                             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
