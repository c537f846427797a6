"""The stream processor: records in; events, dead letters, alerts and dossier states out.

It knows nothing of Faust, Kafka or ClickHouse: the pipeline feeds it batches
and takes its `Output`; tests drive it directly, like Kafka Streams'
TopologyTestDriver (push records, advance time, read outputs).

Each record is parsed (`schemas.parse`: an event or a dead letter) and applied
to its dossier's history (`domain.history`). Time is event time, per partition
(`core.timers`): a dossier's timers fire when its partition's watermark passes
them, because a dossier's events all live in one partition, in order.
`advance()` moves watermarks forward from outside (the wall clock in live mode,
`--as-of` at the end of a replay). A dossier not in memory is restored from the
store (`Restorer`), so a dossier received in an earlier run is never unknown; an
event impossible at its place (for a dossier never received, or out of its
life's order) waits one lateness window in the waiting room (`core.waiting`)
for the late event that would make it possible, then becomes its dead letter.
The least recently used dossiers beyond `hot_limit` rest as their pickled
events (`core.resting`) and wake on their next event or timer.

A valid event whose processing raises (a bug, an unforeseen combination) does not
stop the stream: it becomes a `processing_error` dead letter, its dossier is set
aside (dropped from memory, its timers silent) and the dossier's later events
follow it there, until an operator fixes the cause and runs `dossier-stream
rebuild`, which processes them again. Every other dossier is untouched.
"""

from __future__ import annotations

import traceback
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import structlog

from stream_app.core.output import AlertChange, Output, Record
from stream_app.core.ports import Partitioner, Restored, Restorer
from stream_app.core.resting import RestingDossiers
from stream_app.core.timers import EventTime
from stream_app.core.waiting import WaitingRoom
from stream_app.domain.alerts import AlertSpec
from stream_app.domain.codes import INVALID_TRANSITION, PROCESSING_ERROR, UNKNOWN_DOSSIER
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import Added, DossierHistory, FiredAlert
from stream_app.domain.messages import render
from stream_app.domain.snapshot import snapshot
from stream_app.schemas.parse import DeadLetter, parse_event

log = structlog.get_logger(__name__)

_END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


class Processor:
    def __init__(
        self,
        rules: Rules,
        directory: Directory,
        *,
        partitions: int,
        lateness: timedelta,
        now: Callable[[], datetime],
        partitioner: Partitioner,
        restorer: Restorer | None = None,
        watermark: datetime | None = None,
        hot_limit: int | None = None,
        labels: Mapping[tuple[int, int], str] | None = None,
        set_aside: Iterable[str] = (),
    ) -> None:
        self.rules = rules
        self.directory = directory
        self.n_partitions = partitions
        self.now = now
        self.partition_of = partitioner
        self.restorer = restorer
        self.time = EventTime(partitions, lateness)
        # Live dossiers, least recently used first; beyond `hot_limit` the oldest rest.
        self.histories: dict[str, DossierHistory] = {}
        self.hot_limit = hot_limit
        self.resting = RestingDossiers()
        self.waiting = WaitingRoom()
        # The watermark a previous run reached (timers before it have fired). Only a
        # bound for "late" and for what is persisted: a restarted worker's partitions
        # start without a watermark, so the events of a backlog (all older than the
        # wall-clock mark it stopped at) move time by their own clock, and a dossier's
        # timers wait for its later events instead of firing on its first one.
        self.resumed_watermark = watermark
        self.stats: Counter[str] = Counter()
        self.out = Output()
        self._changed: set[str] = set()  # dossiers whose state row is due with the next drain
        self._years_seen: set[int] = set()  # years of the events met (the calendar's horizon)
        self._last_good: dict[str, tuple[list[DossierEvent], dict[str, FiredAlert]]] = {}
        # A replay names each record's file line: (partition, offset) -> "file:line",
        # filled by the producer; looked up only for the records that become dead letters.
        self.labels = labels if labels is not None else {}
        # Dossiers a processing error set aside (read back from the dead letters at start):
        # dossier -> the source of the record that failed.
        self.set_aside: dict[str, str] = dict.fromkeys(set_aside, "an earlier run")

    # ---------------------------------------------------------------- restore
    def restore(self, dossiers: Restored) -> None:
        """Take back dossiers read from the store (before consuming, or when met)."""
        for dossier_id, (events, fired) in dossiers.items():
            if dossier_id in self.set_aside:
                continue
            h = DossierHistory.from_events(dossier_id, events, self.rules)
            for spec, f in fired:
                h.fired[spec.alert_id] = f
            self.histories[dossier_id] = h
            # The store is written events first; a crash may have left the rows derived
            # from them behind (a state row, a retraction): write them again.
            for alert_id in h.disproved():
                self._retract(h, alert_id)
            self._changed.add(dossier_id)
            self._schedule(h, self.partition_of(dossier_id))
        self.stats["restored"] += len(dossiers)

    # ------------------------------------------------------------------ input
    def process(self, records: Iterable[Record]) -> Output:
        parsed: list[tuple[Record, Any]] = []
        for rec in records:
            self.stats["records"] += 1
            parsed.append((rec, parse_event(rec.raw, key=rec.key, source=self._source(rec))))
        self._restore_missing([e.dossier_id for _, e in parsed if not isinstance(e, DeadLetter)])
        time = self.time
        for rec, result in parsed:
            if isinstance(result, DeadLetter):
                self._dead_letter(result)
                continue
            dossier_id = result.dossier_id
            if dossier_id in self.set_aside:
                self._follow(rec, dossier_id)
                continue
            mark = (len(self.out.events), len(self.out.alerts), len(self.out.dead_letters))
            try:
                self._accept(rec, DossierEvent.from_model(result))
            except Exception as exc:  # a bug, not bad input: set this record and its dossier aside
                self._fail(dossier_id, exc, rec, mark)
            # As record-by-record processing would: every timer the watermark has passed
            # fires before the partition's next record is applied, so batch boundaries
            # never decide whether a late event finds an alert to retract.
            if time.has_due(rec.partition):
                self._fire(rec.partition)
        return self.drain()

    def _source(self, rec: Record) -> str:
        return self.labels.get((rec.partition, rec.offset), rec.source) if self.labels else rec.source

    def _restore_missing(self, ids: list[str]) -> None:
        if self.restorer is None:
            return
        missing = sorted({i for i in ids if i not in self.histories and i not in self.resting
                          and i not in self.set_aside})
        if missing:
            found = self.restorer.dossiers(missing)
            if found:
                self.restore(found)

    def _accept(self, rec: Record, ev: DossierEvent) -> None:
        p, at, resumed = rec.partition, ev.occurred_at, self.resumed_watermark
        if at.year not in self._years_seen:
            self.note_year(at.year)
        late = self.time.is_late(p, at) or (resumed is not None and at <= resumed)
        self.time.observe(p, at)
        h = self._live(ev.dossier_id)
        if h is None:
            h = self.histories[ev.dossier_id] = DossierHistory(ev.dossier_id)
        added = h.add(ev, self.rules)
        if added is Added.DUPLICATE:
            self.stats["duplicates"] += 1
            return
        if late:  # a redelivered duplicate is not a late event
            self.stats["late"] += 1
        if added is Added.WAITING:
            code = UNKNOWN_DOSSIER if h.state.received_at is None else INVALID_TRANSITION
            self.waiting.hold(ev, DeadLetter(self._source(rec), rec.raw, code, _why(code, ev)))
            self.time.schedule(p, at, ev.dossier_id)
            return
        self._applied(h, ev)
        for now_possible in self.waiting.release(h.dossier_id, {e.event_id for e in h.events}):
            self._applied(h, now_possible)
        for alert_id in h.disproved():
            self._retract(h, alert_id)
        self._schedule(h, p)

    def _applied(self, h: DossierHistory, ev: DossierEvent) -> None:
        self.stats["applied"] += 1
        if ev.event_type == "received" and not h.state.procedure_known:
            self.stats["unknown_procedure"] += 1
        self.out.events.append(ev)
        self._changed.add(h.dossier_id)

    def _expire_waiting(self, dossier_id: str, mark: datetime) -> None:
        """Events whose lateness window has passed and are still impossible: dead letters."""
        expired = self.waiting.expire(dossier_id, mark)
        if not expired:
            return
        h = self._live(dossier_id)
        if h is not None:
            h.give_up({ev.event_id for ev, _ in expired})
            if not h.events and not h.waiting:
                del self.histories[dossier_id]
        for ev, dl in expired:
            if dl.error_code == UNKNOWN_DOSSIER and h is not None and h.state.received_at is not None:
                dl = DeadLetter(dl.source, dl.raw, INVALID_TRANSITION, _why(INVALID_TRANSITION, ev))
            self._dead_letter(dl)

    # ----------------------------------------------------------------- timers
    def _schedule(self, h: DossierHistory, partition: int) -> None:
        at = h.next_timer()
        if at is not None:
            self.time.schedule(partition, at, h.dossier_id)

    def advance(self, watermark: datetime, partitions: Iterable[int] | None = None) -> Output:
        """Move watermarks forward to `watermark` (never back) and fire what is due."""
        self._advance(watermark, partitions)
        return self.drain()

    def _advance(self, watermark: datetime, partitions: Iterable[int] | None = None) -> None:
        for p in list(self.time.parts) if partitions is None else partitions:
            self.time.push(p, watermark)
            self._fire(p)

    def _fire(self, p: int) -> None:
        mark = self.time.partition(p).watermark
        for dossier_id in self.time.due(p):
            if dossier_id in self.set_aside:
                continue
            at = (len(self.out.events), len(self.out.alerts), len(self.out.dead_letters))
            try:
                if dossier_id in self.waiting:
                    self._expire_waiting(dossier_id, mark)  # type: ignore[arg-type]
                h = self._live(dossier_id)
                if h is None:
                    continue
                for spec in h.due_alerts(mark):  # type: ignore[arg-type]
                    self._emit(h, spec)
                self._schedule(h, p)
            except Exception as exc:  # a bug in one dossier's timer: set it aside, fire the others
                self._fail(dossier_id, exc, None, at)

    def _emit(self, h: DossierHistory, spec: AlertSpec) -> None:
        """Emit an owed alert: for the first time, or again once a later event made a
        retracted one real again (the same id, the next version, a new emission time)."""
        now = self.now()
        f = h.fired.get(spec.alert_id)
        if f is None:
            f = h.fired[spec.alert_id] = FiredAlert(spec.kind, spec.fires_at, now, spec=spec)
        else:  # retracted, and real again
            f.retracted, f.emitted_at, f.spec = False, now, spec
            self.stats["reissued"] += 1
        self.out.alerts.append(AlertChange(spec, self._message(spec), now, retracted=False, version=f.version))
        self._changed.add(h.dossier_id)
        self.stats[f"alert.{spec.kind}"] += 1

    def _retract(self, h: DossierHistory, alert_id: str) -> None:
        f = h.fired[alert_id]
        f.retracted = True
        if f.spec is not None:
            self.out.alerts.append(AlertChange(f.spec, self._message(f.spec), f.emitted_at, retracted=True,
                                               version=f.version))
        self._changed.add(h.dossier_id)
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
        self.out.dead_letters.append(dl)
        self.stats[f"dead_letter.{dl.error_code}"] += 1

    def note_year(self, year: int) -> None:
        """Warn once when the stream reaches a year no calendar table confirms: its days off
        are then the holidays package's guess, and no make-up Saturday is known."""
        self._years_seen.add(year)
        confirmed = self.rules.calendar.confirmed
        if confirmed and year not in confirmed:
            log.warning("calendar.unconfirmed_year", year=year, confirmed=sorted(confirmed),
                        hint=f"check `dossier-stream calendar {year}` against the government's decision and add "
                             "the year to your DOSSIER_CALENDAR file")

    # ------------------------------------------------------ processing errors
    def _fail(self, dossier_id: str, exc: Exception, rec: Record | None, mark: tuple[int, int, int]) -> None:
        """Undo what the failing step added to the output, drop the dossier from memory and
        set it aside; the record (if a record failed) becomes a `processing_error` dead letter."""
        events, alerts, dead = mark
        del self.out.events[events:], self.out.alerts[alerts:], self.out.dead_letters[dead:]
        where = _where(exc)
        source = self._source(rec) if rec is not None else "a timer"
        self.set_aside[dossier_id] = source
        self.stats["set_aside"] += 1
        log.error("processing.error", dossier_id=dossier_id, source=source, error=type(exc).__name__, where=where)
        h = self.histories.pop(dossier_id, None) or self.resting.wake(dossier_id, self.rules)
        if dossier_id in self._changed and h is not None:
            # Changed earlier in this batch: its state row is the one it had before the
            # failing step, as record-by-record processing would have written it.
            failed = None if rec is None else self.out_event_id(rec)
            self._last_good[dossier_id] = [e for e in h.events if e.event_id != failed], h.fired
        self._changed.discard(dossier_id)
        # Its events waiting out the lateness go with it: nothing is lost, nothing applied.
        for _, dl in self.waiting.expire(dossier_id, _END_OF_TIME):
            self._dead_letter(DeadLetter(dl.source, dl.raw, PROCESSING_ERROR, _follows(source)))
        if rec is not None:
            self._dead_letter(DeadLetter(
                self._source(rec), rec.raw, PROCESSING_ERROR,
                f"processing failed ({type(exc).__name__} in {where}); this dossier's later events follow it "
                "here until `dossier-stream rebuild` after the fix"))

    @staticmethod
    def out_event_id(rec: Record) -> str | None:
        """The event id of a record that parsed (the one that failed)."""
        result = parse_event(rec.raw, key=None, source=rec.source)
        return None if isinstance(result, DeadLetter) else result.event_id

    def _follow(self, rec: Record, dossier_id: str) -> None:
        """A record of a dossier set aside follows its failed record to the dead letters."""
        self.stats["records_set_aside"] += 1
        self._dead_letter(DeadLetter(self._source(rec), rec.raw, PROCESSING_ERROR,
                                     _follows(self.set_aside[dossier_id])))

    # ----------------------------------------------------------------- output
    def drain(self) -> Output:
        """Hand over what was produced since the last drain (states taken now)."""
        out, self.out = self.out, Output()
        changed, self._changed = self._changed, set()
        out.at = self.now()
        out.states = [
            snapshot(h, self.rules)
            for d in sorted(changed)
            if (h := self.histories.get(d)) is not None and h.state.received_at is not None
        ]
        for d, (events, fired) in sorted(self._last_good.items()):
            try:
                h = DossierHistory.from_events(d, events, self.rules)
                h.fired = fired
                if h.state.received_at is not None:
                    out.states.append(snapshot(h, self.rules))
            except Exception:  # noqa: BLE001 - the same bug again: its last written row stands
                log.warning("processing.state_not_written", dossier_id=d)
        self._last_good = {}
        self.stats["state_rows"] += len(out.states)
        self._rest_the_least_used()
        return out

    # ------------------------------------------------------ live and at rest
    def _live(self, dossier_id: str) -> DossierHistory | None:
        """The dossier as a live object (woken if it was at rest), now the most recently used."""
        h = self.histories.pop(dossier_id, None)
        if h is None:
            h = self.resting.wake(dossier_id, self.rules)
            if h is None:
                return None
        self.histories[dossier_id] = h
        return h

    def _rest_the_least_used(self) -> None:
        """Put the least recently used dossiers beyond `hot_limit` at rest (never one
        holding events back: those are rare and short-lived)."""
        if self.hot_limit is None or len(self.histories) <= self.hot_limit:
            return
        excess = len(self.histories) - self.hot_limit
        resting = []
        for dossier_id, h in self.histories.items():
            if len(resting) == excess:
                break
            if not h.waiting and dossier_id not in self.waiting:
                resting.append(dossier_id)
        for dossier_id in resting:
            self.resting.put(self.histories.pop(dossier_id))

    def dossier_ids(self) -> set[str]:
        """Every dossier held, live or at rest."""
        return self.histories.keys() | self.resting.keys()

    def history(self, dossier_id: str) -> DossierHistory | None:
        """A held dossier (a copy rebuilt from its events if it is at rest; it stays at rest)."""
        h = self.histories.get(dossier_id)
        return h if h is not None else self.resting.peek(dossier_id, self.rules)

    def low_watermark(self, partitions: Iterable[int] | None = None) -> datetime | None:
        """See `EventTime.low_watermark`."""
        return self.time.low_watermark(partitions)

    def finish(self, as_of: datetime, partitions: Iterable[int] | None = None) -> Output:
        """End of a replay: fire everything up to `as_of`; what still waits becomes a dead
        letter. With `partitions`, only theirs (a worker sharing the partitions with others)."""
        chosen = None if partitions is None else set(partitions)
        self._advance(as_of, chosen)
        for dossier_id in self.waiting.dossiers():
            if chosen is None or self.partition_of(dossier_id) in chosen:
                self._expire_waiting(dossier_id, datetime.max.replace(tzinfo=as_of.tzinfo))
        return self.drain()

    def forget(self, partitions: Iterable[int]) -> Output:
        """The partitions this worker no longer owns (the group gave them to another): drop
        its copies of their dossiers, which would go stale, and their clocks and timers (a
        partition that comes back starts as after a restart). Their events still waiting out
        the lateness cannot follow (their offsets are committed): they leave now as the dead
        letters they would become, so nothing is lost."""
        gone = set(partitions)
        for dossier_id in [d for d in self.waiting.dossiers() if self.partition_of(d) in gone]:
            self._expire_waiting(dossier_id, _END_OF_TIME)
        for dossier_id in [d for d in self.histories if self.partition_of(d) in gone]:
            del self.histories[dossier_id]
        for dossier_id in [d for d in self.resting.keys() if self.partition_of(d) in gone]:
            self.resting.drop(dossier_id)
        for p in gone:
            self.time.reset(p)
        return self.drain()


def _where(exc: BaseException) -> str:
    """Where the error was raised, as `file.py:line function` — never a value."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "the processor"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} {last.name}"


def _follows(source: str) -> str:
    return (f"its dossier was set aside after a processing_error ({source}); it follows there until "
            "`dossier-stream rebuild` after the fix")


def _why(code: str, ev: DossierEvent) -> str:
    """The dead letter's detail: names the rule, never a value."""
    if code == UNKNOWN_DOSSIER:
        return "no received event for this dossier"
    return f"{ev.event_type} not allowed in the dossier's state"
