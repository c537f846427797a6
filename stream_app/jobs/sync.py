"""`dossier-stream sync`: a file of sync envelopes through the converter, the broker and the worker.

The file is JSON Lines (optionally gzip), one envelope per line exactly as a provincial
system POSTs it to the national portal. Like `run`, the job converts and produces first
— every envelope through `sync.ingest.SyncConverter` (the seen snapshots read from the
store a few thousand lines at a time), each lifecycle event onto the events topic keyed
by its dossier and labelled with its envelope's `file:line` — then starts the stack and
waits until every produced event is processed, fires the timers up to `--as-of`
(default: the latest event time), and only then stores the snapshots that changed: the
events are in the store before the converter's memory of them, so an interrupted sync
run again converts the same records into the same event ids, and nothing is lost.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from stream_app.clock import utc_now
from stream_app.core.pipeline import AlertCallback
from stream_app.jobs.run import Summary
from stream_app.jobs.stack import Stack
from stream_app.jobs.until import until
from stream_app.kafka.admin import while_broker_answers
from stream_app.kafka.producer import Produced, produce
from stream_app.kafka.security import client_config
from stream_app.replay.feed import Item
from stream_app.replay.source import read_lines
from stream_app.schemas.parse import DeadLetter
from stream_app.settings import Settings
from stream_app.jobs.sync_live import make_converter

Progress = Callable[[str, int, int | None], None]
CHUNK_LINES = 2_000  # envelopes converted per store lookup of their dossiers' snapshots


@dataclass
class SyncSummary(Summary):
    sync: Counter[str] = field(default_factory=Counter)  # envelopes, records, events by type, dead letters


async def sync_file(
    settings: Settings,
    path: Path,
    *,
    as_of: datetime | None = None,
    bootstrap: str,
    progress: Progress | None = None,
    on_alert: AlertCallback | None = None,
) -> SyncSummary:
    """Convert one file of envelopes into lifecycle events and process them; return when all is stored."""
    if not path.is_file():
        raise FileNotFoundError(f"sync file not found: {path}")
    t0 = time.perf_counter()
    labels: dict[tuple[int, int], str] = {}
    stack = Stack(settings, bootstrap, on_alert=on_alert, labels=labels)
    summary = SyncSummary(restored=stack.processor.stats["restored"])
    try:
        converter, seen = make_converter(settings, stack.client, stack.directory)
        dead: list[DeadLetter] = []

        def events() -> Iterator[Item]:
            lines = ((f"{path.name}:{n}", raw) for n, raw in read_lines(path))
            done = 0
            while chunk := list(islice(lines, CHUNK_LINES)):
                converted = converter.convert(chunk)
                dead.extend(converted.dead_letters)
                for source, event in converted.events:
                    yield Item(None, orjson.dumps(event), event["dossier_id"].encode(),
                               datetime.fromisoformat(event["occurred_at"]), source)
                done += len(chunk)
                if progress:
                    progress("convert", done, None)

        def convert_and_produce() -> Produced:
            return produce(events(), name=path.name, bootstrap=bootstrap, topic=settings.events_topic,
                           client_config=client_config(settings))

        # The store's one thread: the snapshots are read there, as every store call is.
        produced: Produced = await stack.pipeline.call(convert_and_produce)
        labels.update(produced.labels)
        for dl in [*dead, *produced.rejected]:
            stack.processor.add_dead_letter(dl)
        await stack.start()
        if dead or produced.rejected:
            await stack.pipeline.handle([])  # written and published now, whatever else the file holds

        def report() -> None:
            if progress:
                progress("process", stack.pipeline.processed, produced.count)

        async def consume() -> None:
            ends = {p: last + 1 for p, last in produced.last_offsets.items()}
            await until(lambda: stack.pipeline.reached(ends), pipeline=stack.pipeline, on_poll=report)
            summary.as_of = as_of or produced.max_occurred_at
            if summary.as_of is not None:
                await stack.pipeline.finish(summary.as_of)
            # Only now, with their events stored: what the converter has seen.
            await stack.pipeline.call(seen.write, converter.seen_rows(utc_now()))

        await while_broker_answers(consume(), bootstrap, give_up_s=settings.broker_give_up_s)
        summary.records = produced.count
        summary.sync = converter.stats
    finally:
        await stack.stop()
    summary.elapsed_s = time.perf_counter() - t0
    summary.stats = dict(stack.processor.stats)
    return summary


def sync_counts(stats: Counter[str]) -> list[tuple[str, Any]]:
    """The summary lines of a conversion, for the console."""
    events = {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith("event.")}
    dead = {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith("dead_letter.")}
    return [
        ("envelopes read", stats["envelopes"]),
        ("dossier records / progress entries", f"{stats['dossier_records']:,} / {stats['progress_entries']:,}"),
        ("records and entries with nothing new (re-sent)", stats["unchanged"]),
        ("lifecycle events made", f"{sum(events.values()):,}"
         + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(events.items()))})" if events else "")),
        ("sync dead letters", f"{sum(dead.values()):,}"
         + (f"  ({', '.join(f'{k}: {v}' for k, v in sorted(dead.items()))})" if dead else "")),
    ]



