"""Run until done: the one waiting loop of every job and test.

`until(done, pipeline=…)` polls a condition (a partition reached its end offset,
a worker caught up) and returns when it holds; while it waits it stops the job
with `ProcessingFailed` as soon as a batch has failed, instead of waiting
forever for records a broken pipeline will never process, and with
`TimeoutError` after `timeout_s`. `run`, the in-process `replay` and the tests
all wait this way (quixstreams: `app.run(count=, timeout=)`).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable

from stream_app.core.pipeline import Pipeline, ProcessingFailed


def raise_if_broken(pipeline: Pipeline) -> None:
    """A batch failed (a bug, not bad input; nothing of it was acknowledged): stop the job
    with its error, a clear message and a non-zero exit, instead of waiting forever."""
    failure = pipeline.failure
    if failure is not None:
        raise ProcessingFailed(f"processing stopped: {type(failure).__name__}: {str(failure)[:200]}") from failure


async def until(
    done: Callable[[], bool],
    *,
    pipeline: Pipeline | None = None,
    every_s: float = 0.1,
    timeout_s: float | None = None,
    on_poll: Callable[[], Any] | None = None,
) -> None:
    """Return once `done()` holds; raise ProcessingFailed if the pipeline broke first,
    TimeoutError if `timeout_s` passed first. `on_poll` runs (or is awaited) at every look:
    progress, checkpoints."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while True:
        if pipeline is not None:
            raise_if_broken(pipeline)
        if on_poll is not None and inspect.isawaitable(polled := on_poll()):
            await polled
        if done():
            return
        if deadline is not None and loop.time() > deadline:
            raise TimeoutError(f"not done within {timeout_s:.0f} s")
        await asyncio.sleep(every_s)
