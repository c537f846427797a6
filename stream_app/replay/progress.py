"""The replay's terminal output: the progress bar (rate, ETA, event time reached), the summary.

One rich bar per stage ("produce", and "process" when the worker runs in this
process), on stderr, gone when the replay ends. Rate and ETA come from rich's
own speed estimate over the last seconds, so a paced replay shows its pace.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from stream_app.jobs.replay import Progress as ProgressFn
from stream_app.jobs.replay import ReplayResult

_STAGES = {"produce": "producing", "process": "processing"}


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} ev/s", style="progress.data.speed")


@contextlib.contextmanager
def replay_progress(enabled: bool = True) -> Iterator[ProgressFn | None]:
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[at]}"),
                  console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int | None, at: datetime | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total, at="")
            fields = {"at": f"at {at:%Y-%m-%d %H:%M}"} if at is not None else {}
            bar.update(tasks[stage], completed=done, total=total, **fields)

        yield update


def print_replay(result: ReplayResult, source: str, speed: float | None, *, target: str) -> None:
    table = Table(title="dossier-stream replay", show_header=False)
    table.add_row("source", source)
    table.add_row("into", target)
    table.add_row("speed", "max" if speed is None else f"×{speed:g}")
    if result.resumed:
        table.add_row("resumed after", f"{result.done_before:,} records done before")
    table.add_row("records sent", f"{result.sent:,}")
    if result.skipped:
        table.add_row("unreadable lines skipped (selection)", f"{result.skipped:,}")
    table.add_row("complete", "yes" if result.complete else "no — continue with --resume")
    table.add_row("elapsed", f"{result.elapsed_s:.1f} s")
    table.add_row("records/s", f"{result.rate:,.0f}")
    if result.checkpoint is not None:
        table.add_row("checkpoint", str(result.checkpoint))
    Console().print(table)
