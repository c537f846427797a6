"""Terminal output for people: progress bars and run summaries (rich)."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

console = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task({"produce": "producing", "process": "processing"}.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def print_summary(summary: object) -> None:
    s = summary  # runner.Summary
    stats = dict(getattr(s, "stats"))
    table = Table(title="dossier-stream run", show_header=False)
    table.add_row("records read", f"{s.records:,}")
    table.add_row("events applied", f"{stats.get('applied', 0):,}")
    table.add_row("duplicates ignored", f"{stats.get('duplicates', 0):,}")
    table.add_row("late events (beyond allowed lateness)", f"{stats.get('late', 0):,}")
    table.add_row("unknown_procedure", f"{stats.get('unknown_procedure', 0):,}")
    table.add_row("dossiers restored from the store", f"{s.restored:,}")
    dead = {k.split('.', 1)[1]: v for k, v in stats.items() if k.startswith("dead_letter.")}
    table.add_row("dead letters", f"{sum(dead.values()):,}" + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(dead.items()))})" if dead else ""))
    alerts = {k.split('.', 1)[1]: v for k, v in stats.items() if k.startswith("alert.")}
    table.add_row("alerts", f"{sum(alerts.values()):,}" + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(alerts.items()))})" if alerts else ""))
    table.add_row("alerts retracted", f"{stats.get('retracted', 0):,}")
    table.add_row("as of", s.as_of.isoformat() if s.as_of else "—")
    table.add_row("elapsed", f"{s.elapsed_s:.1f} s")
    table.add_row("events/s", f"{s.rate:,.0f}")
    out.print(table)
