"""The stream processor: raw records in; rows, alerts and dead letters out.

It knows nothing of Faust: the Faust agent (`stream_app.agents`) feeds it
batches and drains its `Outbox`; tests drive it directly, like Kafka
Streams' TopologyTestDriver (push records, advance time, read outputs).

Time is event time. Each partition has a stream time (the latest
`occurred_at` seen) and a watermark (stream time minus the allowed lateness);
a dossier's timers fire when its partition's watermark passes them, because
a dossier's events all live in one partition, in order. `advance()` moves
watermarks forward from outside (the wall clock in live mode, `--as-of` at
the end of a replay). A dossier not in memory is looked up in the store
(`loader`), so a dossier received in an earlier run is never unknown; an
event for a dossier never received waits one lateness window for its
`received`, then becomes an `unknown_dossier` dead letter; likewise an event
impossible at its place (`invalid_transition`) waits one lateness window for
the late event that would make it possible.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Protocol

import structlog
from kafka.partitioner.default import murmur2

from stream_app.core.resting import ColdHistories
from stream_app.domain.alerts import AlertSpec
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import DUPLICATE, DossierHistory, FiredAlert
from stream_app.domain.messages import render
from stream_app.schemas.parse import DeadLetter, parse_event
from stream_app.store.rows import alert_row, dead_letter_row, event_row, state_row

log = structlog.get_logger(__name__)

UNKNOWN_DOSSIER = "unknown_dossier"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record (or file line) as it arrived."""

    raw: bytes
    key: bytes | None
    partition: int
    offset: int
    source: str  # "topic/partition/offset" or "file:line"


class Loader(Protocol):
    """Reads durable state back (ClickHouse); see `stream_app.restore`."""

    def load(self, dossier_ids: list[str]) -> dict[str, tuple[list[DossierEvent], list[tuple[AlertSpec, FiredAlert]]]]: ...


@dataclass
class Outbox:
    """What one batch or tick produced, drained by the adapter after each call."""

    events: list[list[Any]] = field(default_factory=list)
    dead_letters: list[list[Any]] = field(default_factory=list)
    dlq: list[DeadLetter] = field(default_factory=list)
    alerts: list[list[Any]] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    state_rows: list[list[Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.dead_letters or self.alerts or self.changed)


@dataclass
class _Partition:
    stream_time: datetime | None = None
    watermark: datetime | None = None
    timers: list[tuple[datetime, int, str]] = field(default_factory=list)


class Processor:
    def __init__(
        self,
        rules: Rules,
        directory: Directory,
        *,
        partitions: int,
        lateness: timedelta,
        now: Callable[[], datetime],
        loader: Loader | None = None,
        watermark: datetime | None = None,
        hot_limit: int | None = None,
    ) -> None:
        self.rules = rules
        self.directory = directory
        self.n_partitions = partitions
        self.lateness = lateness
        self.now = now
        self.loader = loader
        # Dossiers as live objects, least recently used first; beyond `hot_limit` the
        # oldest rest in `cold` as their events (see stream_app.cold).
        self.histories: dict[str, DossierHistory] = {}
        self.hot_limit = hot_limit
        self.cold = ColdHistories()
        # Events not (yet) possible at their place, waiting out the lateness window.
        self.waiting: dict[str, list[tuple[DossierEvent, DeadLetter]]] = {}
        # The watermark a previous run reached (timers before it have fired). Only a
        # bound for "late" and for what is persisted: a restarted worker's partitions
        # start without a watermark, so the events of a backlog (all older than the
        # wall-clock mark it stopped at) move time by their own clock, and a dossier's
        # timers wait for its later events instead of firing on its first one.
        self.resumed_watermark = watermark
        self.parts = {p: _Partition() for p in range(partitions)}
        self.stats: Counter[str] = Counter()
        self.out = Outbox()
        self._seq = 0
        # A replay names each record's file line: (partition, offset) -> "file:line";
        # looked up only for the records that become dead letters.
        self.sources: dict[tuple[int, int], str] = {}

    # ---------------------------------------------------------------- restore
    def restore(self, dossiers: dict[str, tuple[list[DossierEvent], list[tuple[AlertSpec, FiredAlert]]]]) -> None:
        """Take back dossiers read from the store (before consuming)."""
        for dossier_id, (events, fired) in dossiers.items():
            h = DossierHistory.from_events(dossier_id, events, self.rules)
            for spec, f in fired:
                h.fired[spec.alert_id] = f
            self.histories[dossier_id] = h
            # The store is written events first; a crash may have left the rows derived
            # from them behind (a state row, a retraction): write them again.
            for alert_id in h.disproved():
                self._retract(h, alert_id)
            self.out.changed.add(dossier_id)
            self._schedule(h, self.partition_of(dossier_id))
        self.stats["restored"] += len(dossiers)

    def partition_of(self, dossier_id: str) -> int:
        """The partition Kafka's default partitioner puts this key in."""
        return (murmur2(dossier_id.encode()) & 0x7FFFFFFF) % self.n_partitions

    # ------------------------------------------------------------------ input
    def process(self, records: Iterable[Record]) -> Outbox:
        parsed: list[tuple[Record, Any]] = []
        for rec in records:
            self.stats["records"] += 1
            parsed.append((rec, parse_event(rec.raw, key=rec.key, source=self._source(rec))))
        self._load_missing([e.dossier_id for _, e in parsed if not isinstance(e, DeadLetter)])
        for rec, result in parsed:
            if isinstance(result, DeadLetter):
                self._dead_letter(result)
            else:
                self._accept(rec, DossierEvent.from_model(result))
        for p in {rec.partition for rec, _ in parsed}:
            self._fire(p)
        return self.drain()

    def _source(self, rec: Record) -> str:
        return self.sources.get((rec.partition, rec.offset), rec.source) if self.sources else rec.source

    def _load_missing(self, ids: list[str]) -> None:
        if self.loader is None:
            return
        missing = sorted({i for i in ids if i not in self.histories and i not in self.cold})
        if missing:
            found = self.loader.load(missing)
            if found:
                self.restore(found)

    def _accept(self, rec: Record, ev: DossierEvent) -> None:
        part = self.parts.setdefault(rec.partition, _Partition())
        # At the watermark itself the window has closed: timers up to it have fired.
        at, resumed = ev.occurred_at, self.resumed_watermark
        late = (part.watermark is not None and at <= part.watermark) or (resumed is not None and at <= resumed)
        if part.stream_time is None or ev.occurred_at > part.stream_time:
            part.stream_time = ev.occurred_at
            mark = ev.occurred_at - self.lateness
            if part.watermark is None or mark > part.watermark:
                part.watermark = mark
        h = self._hot(ev.dossier_id)
        if h is None:
            h = self.histories[ev.dossier_id] = DossierHistory(ev.dossier_id)
        err = h.add(ev, self.rules)
        if err == DUPLICATE:
            self.stats["duplicates"] += 1
            return
        if late:  # a redelivered duplicate is not a late event
            self.stats["late"] += 1
        if err is not None:
            code = UNKNOWN_DOSSIER if h.state.received_at is None else err
            detail = ("no received event for this dossier" if code == UNKNOWN_DOSSIER
                      else f"{ev.event_type} not allowed in the dossier's state")
            self.waiting.setdefault(ev.dossier_id, []).append((ev, DeadLetter(self._source(rec), rec.raw, code, detail)))
            self._push(rec.partition, ev.occurred_at, ev.dossier_id)
            return
        self._accepted(h, ev)
        held = self.waiting.get(h.dossier_id)
        if held:
            applied = {e.event_id for e in h.events}
            for waiting_ev, _ in held:
                if waiting_ev.event_id in applied:
                    self._accepted(h, waiting_ev)
            self.waiting[h.dossier_id] = [w for w in held if w[0].event_id not in applied]
        for alert_id in h.disproved():
            self._retract(h, alert_id)
        self._schedule(h, rec.partition)

    def _accepted(self, h: DossierHistory, ev: DossierEvent) -> None:
        self.stats["applied"] += 1
        if ev.event_type == "received" and not h.state.procedure_known:
            self.stats["unknown_procedure"] += 1
        self.out.events.append(event_row(ev, self.now()))
        self.out.changed.add(h.dossier_id)

    def _expire_waiting(self, dossier_id: str, mark: datetime) -> None:
        """Events whose lateness window has passed and are still impossible: dead letters."""
        held = self.waiting.pop(dossier_id, None)
        if not held:
            return
        expired = [w for w in held if w[0].occurred_at <= mark]
        keep = [w for w in held if w[0].occurred_at > mark]
        if keep:
            self.waiting[dossier_id] = keep
        h = self._hot(dossier_id)
        if h is not None:
            h.drop_pending({ev.event_id for ev, _ in expired})
            if not h.events and not h.pending:
                del self.histories[dossier_id]
        for ev, dl in expired:
            if dl.error_code == UNKNOWN_DOSSIER and h is not None and h.state.received_at is not None:
                dl = DeadLetter(dl.source, dl.raw, "invalid_transition", f"{ev.event_type} not allowed in the dossier's state")
            self._dead_letter(dl)

    # ----------------------------------------------------------------- timers
    def _push(self, partition: int, at: datetime, dossier_id: str) -> None:
        self._seq += 1
        heapq.heappush(self.parts[partition].timers, (at, self._seq, dossier_id))

    def _schedule(self, h: DossierHistory, partition: int) -> None:
        at = h.next_fire_time()
        if at is not None:
            self._push(partition, at, h.dossier_id)

    def advance(self, watermark: datetime, partitions: Iterable[int] | None = None) -> Outbox:
        """Move watermarks forward to `watermark` (never back) and fire what is due."""
        self._advance(watermark, partitions)
        return self.drain()

    def _advance(self, watermark: datetime, partitions: Iterable[int] | None = None) -> None:
        for p in list(self.parts) if partitions is None else partitions:
            part = self.parts.setdefault(p, _Partition())
            if part.watermark is None or watermark > part.watermark:
                part.watermark = watermark
            self._fire(p)

    def _fire(self, p: int) -> None:
        part = self.parts.setdefault(p, _Partition())  # a batch of dead letters only, from any partition
        mark = part.watermark
        if mark is None:
            return
        timers = part.timers
        while timers and timers[0][0] <= mark:
            _, _, dossier_id = heapq.heappop(timers)
            if dossier_id in self.waiting:
                self._expire_waiting(dossier_id, mark)
            h = self._hot(dossier_id)
            if h is None:
                continue
            for spec in h.due_alerts(mark):
                self._emit(h, spec)
            self._schedule(h, p)

    def _emit(self, h: DossierHistory, spec: AlertSpec) -> None:
        now = self.now()
        h.fired[spec.alert_id] = FiredAlert(spec.kind, spec.fires_at, now, spec=spec)
        self.out.alerts.append(alert_row(spec, self._message(spec), now, retracted=False))
        self.out.changed.add(h.dossier_id)
        self.stats[f"alert.{spec.kind}"] += 1

    def _retract(self, h: DossierHistory, alert_id: str) -> None:
        f = h.fired[alert_id]
        f.retracted = True
        if f.spec is not None:
            self.out.alerts.append(alert_row(f.spec, self._message(f.spec), f.emitted_at, retracted=True))
        self.out.changed.add(h.dossier_id)
        self.stats["retracted"] += 1

    def _message(self, spec: AlertSpec) -> str:
        d = self.directory
        return render(spec, unit_name=d.unit_name, procedure_name=d.procedure_name)

    def add_dead_letter(self, dl: DeadLetter) -> None:
        """A record rejected before it reached Kafka (a replay line too large to produce):
        counted as a record and written and published with the next drain, like any other."""
        self.stats["records"] += 1
        self._dead_letter(dl)

    def _dead_letter(self, dl: DeadLetter) -> None:
        self.out.dead_letters.append(dead_letter_row(dl, self.now()))
        self.out.dlq.append(dl)
        self.stats[f"dead_letter.{dl.error_code}"] += 1

    # ----------------------------------------------------------------- output
    def drain(self) -> Outbox:
        """Hand over what was produced since the last drain (state rows built now)."""
        out, self.out = self.out, Outbox()
        now = self.now()
        out.state_rows = [
            state_row(h, self.rules, now)
            for d in sorted(out.changed)
            if (h := self.histories.get(d)) is not None and h.state.received_at is not None
        ]
        self._cool()
        return out

    # ----------------------------------------------------------- hot and cold
    def _hot(self, dossier_id: str) -> DossierHistory | None:
        """The dossier as a live object (thawed if it was at rest), now the most recently used."""
        h = self.histories.pop(dossier_id, None)
        if h is None:
            h = self.cold.thaw(dossier_id, self.rules)
            if h is None:
                return None
        self.histories[dossier_id] = h
        return h

    def _cool(self) -> None:
        """Put the least recently used dossiers beyond `hot_limit` at rest (never one
        holding events back: those are rare and short-lived)."""
        if self.hot_limit is None or len(self.histories) <= self.hot_limit:
            return
        excess = len(self.histories) - self.hot_limit
        resting = []
        for dossier_id, h in self.histories.items():
            if len(resting) == excess:
                break
            if not h.pending and dossier_id not in self.waiting:
                resting.append(dossier_id)
        for dossier_id in resting:
            self.cold.freeze(self.histories.pop(dossier_id))

    def dossier_ids(self) -> set[str]:
        """Every dossier held, live or at rest."""
        return self.histories.keys() | self.cold.keys()

    def history(self, dossier_id: str) -> DossierHistory | None:
        """A held dossier (a copy rebuilt from its events if it is at rest; it stays at rest)."""
        h = self.histories.get(dossier_id)
        return h if h is not None else self.cold.peek(dossier_id, self.rules)

    def low_watermark(self, partitions: Iterable[int] | None = None) -> datetime | None:
        """The oldest watermark of the partitions (all, or the ones this worker owns) —
        every timer before it has fired — or None until each of them has one: the
        oldest of the others is no bound on a partition that has delivered nothing yet."""
        chosen = self.parts if partitions is None else partitions
        marks = [self.parts[p].watermark if p in self.parts else None for p in chosen]
        if not marks or any(m is None for m in marks):
            return None
        return min(marks)

    def finish(self, as_of: datetime) -> Outbox:
        """End of a replay: fire everything up to `as_of`; what still waits becomes a dead letter."""
        self._advance(as_of)
        for dossier_id in sorted(self.waiting):
            self._expire_waiting(dossier_id, datetime.max.replace(tzinfo=as_of.tzinfo))
        return self.drain()
