"""A TopologyTestDriver for the stream processor: push records, advance time, read outputs.

`Driver` wraps one `Processor` built on the shipped calendar and catalog, 4 partitions,
10 minutes of allowed lateness and an injected fake clock (`Clock`), with no store
behind it. It turns event dicts into Kafka-like `Record`s the way the replay does (raw
orjson bytes, key = the dossier code, the partition Kafka's default partitioner picks,
offsets increasing per partition, source ``f.jsonl:<line>``) and keeps every output it
has read, so a test can look at one call's output or at everything so far. Each output
is read as the store writes it and the DLQ carries it (`Written`: rows per table, the
dead letters as published), so tests speak in the contract's columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from stream_app.core.output import Output, Record
from stream_app.core.processor import Processor
from stream_app.domain.alerts import AlertSpec
from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import FiredAlert
from stream_app.kafka.producer import partitioner
from stream_app.store.rows import (
    ALERT_COLUMNS,
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    STATE_COLUMNS,
    alert_row,
    dead_letter_row,
    event_from_row,
    event_row,
    state_row,
)

CALENDAR = WorkingCalendar.load()
CATALOG = Catalog.load()
RULES = Rules(CALENDAR, CATALOG)
DIRECTORY = Directory.load(CATALOG)
PARTITIONS = 4
LATENESS = timedelta(minutes=10)
WALL_START = datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)  # far from event time on purpose


class Clock:
    """The wall clock the processor reads; tests move it by hand."""

    def __init__(self, start: datetime = WALL_START) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def tick(self, by: timedelta = timedelta(seconds=1)) -> datetime:
        self.at += by
        return self.at


@dataclass
class Written:
    """One output as the store writes it (rows in the contract's column order) and as the
    DLQ carries it (`dlq`: the dead letters themselves)."""

    events: list[list[Any]]
    dead_letters: list[list[Any]]
    dlq: list[Any]
    alerts: list[list[Any]]
    state_rows: list[list[Any]]
    output: Output

    @classmethod
    def of(cls, out: Output) -> "Written":
        return cls(
            events=[event_row(ev, out.at) for ev in out.events],
            dead_letters=[dead_letter_row(dl, out.at) for dl in out.dead_letters],
            dlq=list(out.dead_letters),
            alerts=[alert_row(a) for a in out.alerts],
            state_rows=[state_row(st, out.at) for st in out.states],
            output=out,
        )


class Driver:
    """One processor plus the record maker and everything read from it so far."""

    def __init__(self, *, clock: Clock | None = None, watermark: datetime | None = None,
                 hot_limit: int | None = None, set_aside: Iterable[str] = ()) -> None:
        self.clock = clock or Clock()
        self.processor = Processor(
            rules=RULES, directory=DIRECTORY, partitions=PARTITIONS, lateness=LATENESS,
            now=self.clock, partitioner=partitioner(PARTITIONS), restorer=None, watermark=watermark,
            hot_limit=hot_limit, set_aside=set_aside,
        )
        self.line = 0
        self.offsets: dict[int, int] = {}
        self.outputs: list[Written] = []

    # ------------------------------------------------------------------ input
    def record(self, event: dict[str, Any] | bytes, *, key: bytes | str | None = None,
               dossier_id: str | None = None) -> Record:
        """The record a producer keyed by dossier code would write; bytes are sent as they are."""
        raw = event if isinstance(event, bytes) else orjson.dumps(event)
        dossier_id = dossier_id or (event.get("dossier_id") if isinstance(event, dict) else None) or "?"
        if key is None:
            key = dossier_id
        if isinstance(key, str):
            key = key.encode()
        partition = self.processor.partition_of(dossier_id)
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        self.line += 1
        return Record(raw=raw, key=key, partition=partition, offset=offset, source=f"f.jsonl:{self.line}")

    def push(self, *events: dict[str, Any] | Record) -> Written:
        """One batch: dicts become records in order; records go as they are."""
        records = [e if isinstance(e, Record) else self.record(e) for e in events]
        return self._keep(self.processor.process(records))

    def push_each(self, events: Iterable[dict[str, Any]]) -> list[Written]:
        """One batch per event."""
        return [self.push(e) for e in events]

    def advance(self, watermark: datetime) -> Written:
        return self._keep(self.processor.advance(watermark))

    def finish(self, as_of: datetime) -> Written:
        return self._keep(self.processor.finish(as_of))

    def _keep(self, out: Output) -> Written:
        self.outputs.append(written := Written.of(out))
        return written

    # ----------------------------------------------------------------- output
    @property
    def stats(self):
        return self.processor.stats

    def events(self) -> list[dict[str, Any]]:
        return [dict(zip(EVENT_COLUMNS, r)) for o in self.outputs for r in o.events]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [dict(zip(DEAD_LETTER_COLUMNS, r)) for o in self.outputs for r in o.dead_letters]

    def dlq(self) -> list:
        return [d for o in self.outputs for d in o.dlq]

    def alerts(self) -> list[dict[str, Any]]:
        return [dict(zip(ALERT_COLUMNS, r)) for o in self.outputs for r in o.alerts]

    def alert_ids(self) -> set[str]:
        return {a["alert_id"] for a in self.alerts()}

    def state(self) -> dict[str, dict[str, Any]]:
        """The latest state row of each dossier, as the store would keep it."""
        latest: dict[str, dict[str, Any]] = {}
        for o in self.outputs:
            for r in o.state_rows:
                row = dict(zip(STATE_COLUMNS, r))
                latest[row["dossier_id"]] = row
        return latest

    def stored(self) -> dict[str, tuple[list[DossierEvent], list[tuple[AlertSpec, FiredAlert]]]]:
        """What `Restorer.dossiers` would read back from the rows written so far."""
        events: dict[str, list[DossierEvent]] = {}
        for row in self.events():
            ev = event_from_row(row)
            events.setdefault(ev.dossier_id, []).append(ev)
        latest = {a["alert_id"]: a for a in self.alerts()}  # a retraction replaces its alert
        fired: dict[str, list[tuple[AlertSpec, FiredAlert]]] = {}
        for a in latest.values():
            spec = AlertSpec(a["alert_id"], a["kind"], a["dossier_id"], a["fires_at"], a["due_at"],
                             a["unit"], a["procedure_code"], a["receiving_unit"])
            fired.setdefault(a["dossier_id"], []).append(
                (spec, FiredAlert(a["kind"], a["fires_at"], a["emitted_at"], a["retracted"], spec)))
        return {d: (evs, fired.get(d, [])) for d, evs in events.items()}

    # ---------------------------------------------------------------- helpers
    def same_partition(self, dossier_id: str, count: int = 1) -> list[str]:
        """Other dossier codes Kafka puts in the same partition as `dossier_id`."""
        want = self.processor.partition_of(dossier_id)
        found = [c for i in range(1000) if self.processor.partition_of(c := f"{dossier_id}-P{i:03d}") == want]
        return found[:count]

    def other_partition(self, dossier_id: str) -> str:
        want = self.processor.partition_of(dossier_id)
        return next(c for i in range(1000) if self.processor.partition_of(c := f"{dossier_id}-Q{i:03d}") != want)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def driver(clock: Clock) -> Driver:
    return Driver(clock=clock)


@pytest.fixture(scope="session")
def make_driver() -> Callable[..., Driver]:
    """A fresh driver per call (for tests that compare processors or use hypothesis)."""
    return Driver
