"""Terminal output for people (rich): progress bars and the summaries of run, sync, replay and rebuild.

Progress goes to stderr and disappears when the job ends; summaries go to stdout.
A replay's bar shows its rate, its ETA (rich's own speed estimate over the last
seconds, so a paced replay shows its pace) and the event time reached.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from stream_app.jobs.rebuild_diff import Changes
from stream_app.jobs.replay import Progress as ReplayProgress
from stream_app.jobs.replay import ReplayResult

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
                tasks[stage] = bar.add_task({"produce": "producing", "process": "processing", "convert": "converting"}.get(stage, stage), total=total)
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
    dead = dict(sorted(s.dead_letters.items()))
    table.add_row("dead letters", f"{sum(dead.values()):,}" + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(dead.items()))})" if dead else ""))
    alerts = {k.split('.', 1)[1]: v for k, v in stats.items() if k.startswith("alert.")}
    table.add_row("alerts", f"{sum(alerts.values()):,}" + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(alerts.items()))})" if alerts else ""))
    table.add_row("alerts retracted", f"{stats.get('retracted', 0):,}")
    if stats.get("reissued"):
        table.add_row("alerts emitted again (made real by a later event)", f"{stats['reissued']:,}")
    if stats.get("set_aside"):
        table.add_row("dossiers set aside by a processing_error (rebuild after the fix)", f"{stats['set_aside']:,}")
    table.add_row("as of", s.as_of.isoformat() if s.as_of else "—")
    table.add_row("elapsed", f"{s.elapsed_s:.1f} s")
    table.add_row("events/s", f"{s.rate:,.0f}")
    out.print(table)
    if s.mostly_rejected:
        dead = s.dead_letters
        top = ", ".join(f"{code}: {n:,}" for code, n in list(dead.items())[:3])
        console.print(f"[bold red]Most lines were rejected:[/] {sum(dead.values()):,} of {s.records:,} are dead letters "
                      f"({top}). Is this a JSON Lines file of dossier events, one per line, in UTF-8? "
                      "`SELECT source, error_code, error_detail FROM dossier.dead_letters` shows each one.")


def print_sync(stats: Any) -> None:
    """What `sync` read and made of the envelopes (before the run's own summary)."""
    from stream_app.jobs.sync import sync_counts

    table = Table(title="dossier-stream sync", show_header=False)
    for label, value in sync_counts(stats):
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    out.print(table)


# ------------------------------------------------------------------ replay
_STAGES = {"produce": "producing", "process": "processing"}


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} ev/s", style="progress.data.speed")


@contextlib.contextmanager
def replay_progress(enabled: bool = True) -> Iterator[ReplayProgress | None]:
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
    out.print(table)


# ----------------------------------------------------------------- rebuild
def _t(v: Any) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


def print_rebuild(result: Any, show: int = 20) -> None:
    """The rebuild's summary and the first `show` changes of each kind (rebuild.RebuildResult)."""
    c: Changes = result.changes
    head = Table(title="dossier-stream rebuild", show_header=False)
    head.add_row("events replayed", f"{result.events:,} ({result.rate:,.0f}/s)")
    head.add_row("dossiers", f"{result.dossiers:,}")
    head.add_row("as of", result.as_of.isoformat() if result.as_of else "—")
    if result.refused:
        head.add_row("events refused by the new rules", f"{result.refused:,}")
    if result.set_aside:
        head.add_row("records still set aside (processing_error)", f"{result.set_aside:,}")
    head.add_row("dossiers changed", f"{len(c.dossier_ids):,}")
    head.add_row("alerts added / retracted", f"{len(c.alerts_added):,} / {len(c.alerts_retracted):,}")
    head.add_row("monthly figures changed", f"{len(c.monthly):,}")
    if result.switched:
        head.add_row("switched", f"{result.database} now has the rebuilt tables; the previous ones are kept in "
                                 f"{result.kept} (drop: dossier-stream rebuild --drop {result.kept}; "
                                 f"undo: --revert {result.kept})")
    else:
        head.add_row("switched", "no (dry run)")
    head.add_row("elapsed", f"{result.elapsed_s:.1f} s")
    out.print(head)
    sections = [
        ("dossiers: due time or classification moved", ("dossier", "column", "before", "after"),
         [(m.dossier_id, m.column, _t(m.old), _t(m.new)) for m in c.dossiers]),
        ("alerts added", ("kind", "dossier", "fires at"),
         [(a.kind, a.dossier_id, _t(a.fires_at)) for a in c.alerts_added]),
        ("alerts retracted", ("kind", "dossier", "fires at"),
         [(a.kind, a.dossier_id, _t(a.fires_at)) for a in c.alerts_retracted]),
        ("monthly figures", ("month", "unit", "figure", "before", "after"),
         [(f.month.strftime("%Y-%m"), f.unit, f.column, _t(f.old), _t(f.new)) for f in c.monthly]),
    ]
    for title, columns, rows in sections:
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows):,})" + (f", first {show}" if len(rows) > show else ""))
        for col in columns:
            table.add_column(col)
        for row in rows[:show]:
            table.add_row(*row)
        out.print(table)


def print_rebuilds(rows: list[tuple[str, int, int, str]]) -> None:
    table = Table(title="kept rebuild databases")
    for col in ("database", "events", "dossiers", "holds"):
        table.add_column(col)
    for name, events, dossiers, note in rows:
        table.add_row(name, f"{events:,}", f"{dossiers:,}", note)
    out.print(table)


# ---------------------------------------------------------------- calendar
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def print_calendar(year: int, days: list[tuple[Any, bool, str, str]], *, confirmed: bool,
                   own_file: str | None) -> None:
    """A year's days off on weekdays and its make-up working days, and whether a table confirms them."""
    table = Table(title=f"dossier-stream calendar {year}")
    for col in ("date", "", "office", "reason", "source"):
        table.add_column(col)
    for d, works, reason, source in days:
        table.add_row(f"{d:%d/%m/%Y}", _WEEKDAYS[d.weekday()], "working day" if works else "day off", reason, source)
    out.print(table)
    if confirmed:
        out.print(f"{year} is confirmed: its swaps were checked against the government's decision.")
    else:
        out.print(f"[bold yellow]{year} is not confirmed[/]: these are the holidays package's days alone (it may "
                  "guess a year ahead and never lists make-up Saturdays). Check them against the government's "
                  "decision for the year, then add the swaps and `confirmed = [" + str(year) + "]` to your own "
                  "calendar file (the shipped stream_app/data/calendar.toml shows the layout) and point "
                  "DOSSIER_CALENDAR at it" + (f" (now {own_file})" if own_file else "") + ".")
