"""A dossier's history: its events, its state, and the alerts they imply.

`DossierHistory` is the aggregate the stream keeps per dossier. It ignores a
repeated `event_id`, applies an in-order event incrementally, and refolds the
whole history when an event arrives out of order, so the result always equals
in-order processing. An event impossible at its place is reported but kept aside
(`waiting`): an earlier event arriving late may make it possible (a payment
before its `sent_to_tax`, anything before `received`), and every refold tries it
again, so the result never depends on the arrival order. Alerts follow one
rule: an alert is real when it is a candidate (see `alerts.candidates`) of the
state that holds at its fire time. A state holds from its last event until the
next one; so when the next event comes, the previous state's candidates that
fire before it become certain, and the new state's candidates replace the rest.
`fired` records what has been emitted, so a refold can tell which emitted alerts
a late event proved false.

The candidates are listed only when something needs them: a timer that may be due,
a next event that comes after the first of them could fire, an emitted alert to
check, a finished dossier's state row. Until then a dossier knows only when its
first candidate fires (`alerts.earliest`), which is what its timer waits for; most
states of a dossier give way to its next event long before that.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Iterable

from stream_app.domain.alerts import AlertSpec, candidates, earliest
from stream_app.domain.codes import Classification
from stream_app.domain.dossier import DossierState, Rules
from stream_app.domain.events import DossierEvent


_UNKNOWN = object()  # not computed yet


class Added(Enum):
    """What `DossierHistory.add` did with an event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # its event_id is already held: nothing changed
    WAITING = "waiting"  # impossible at its place so far: held aside, tried again on every refold


class FiredAlert:
    """An alert as emitted. `version` counts its changes: 1 emitted, 2 retracted, 3 made
    real again by a later event and emitted again, 4 retracted again, … — an odd version
    stands, an even one is retracted, so setting `retracted` moves it to the next one."""

    __slots__ = ("kind", "fires_at", "emitted_at", "spec", "version")

    def __init__(self, kind: str, fires_at: datetime, emitted_at: datetime, retracted: bool = False,
                 spec: AlertSpec | None = None, version: int | None = None) -> None:
        self.kind = kind
        self.fires_at = fires_at
        self.emitted_at = emitted_at
        self.spec = spec  # what was emitted, to write its retraction
        self.version = version if version is not None else (2 if retracted else 1)

    @property
    def retracted(self) -> bool:
        return self.version % 2 == 0

    @retracted.setter
    def retracted(self, value: bool) -> None:
        if value != self.retracted:
            self.version += 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FiredAlert):
            return NotImplemented
        return (self.kind, self.fires_at, self.emitted_at, self.spec, self.version) == \
            (other.kind, other.fires_at, other.emitted_at, other.spec, other.version)

    def __repr__(self) -> str:
        return (f"FiredAlert({self.kind!r}, {self.fires_at!r}, emitted_at={self.emitted_at!r}, "
                f"version={self.version})")


class DossierHistory:
    """Events of one dossier, in order, with the state and alerts they imply."""

    __slots__ = ("dossier_id", "events", "waiting", "state", "certain", "fired", "rules", "_tentative", "_first")

    def __init__(self, dossier_id: str) -> None:
        self.dossier_id = dossier_id
        self.events: list[DossierEvent] = []
        self.waiting: list[DossierEvent] = []  # impossible at their place so far; in order
        self.state = DossierState(dossier_id)
        self.certain: dict[str, AlertSpec] = {}  # real whatever comes next: they fire before a later event
        self.fired: dict[str, FiredAlert] = {}
        self.rules: Rules | None = None  # the rules it was folded with
        # The current state's candidates, once listed (None: not yet), and when the first
        # of them fires (_UNKNOWN: not asked yet).
        self._tentative: list[AlertSpec] | None = None
        self._first: datetime | None | object = _UNKNOWN

    @classmethod
    def from_events(cls, dossier_id: str, events: Iterable[DossierEvent], rules: Rules) -> "DossierHistory":
        h = cls(dossier_id)
        unique = {e.event_id: e for e in events}  # a repeated event_id changes nothing
        h._refold(sorted(unique.values(), key=lambda e: e.sort_key), rules)
        return h

    # ------------------------------------------------------------------ input
    def add(self, ev: DossierEvent, rules: Rules) -> Added:
        """Add one event: applied, a duplicate (ignored), or waiting (impossible so far)."""
        event_id, key = ev.event_id, ev.sort_key
        for e in self.events:
            if e.event_id == event_id:
                return Added.DUPLICATE
        for e in self.waiting:
            if e.event_id == event_id:
                return Added.DUPLICATE
        # After everything held, the newcomer cannot change how the others fold.
        if (not self.events or key > self.events[-1].sort_key) and (not self.waiting or key > self.waiting[-1].sort_key):
            possible = self._step(ev, rules)
            (self.events if possible else self.waiting).append(ev)
            return Added.APPLIED if possible else Added.WAITING
        trial = sorted([*self.events, *self.waiting, ev], key=lambda e: e.sort_key)
        return Added.APPLIED if self._refold(trial, rules, newcomer=ev.event_id) else Added.WAITING

    def give_up(self, event_ids: set[str]) -> None:
        """Stop holding these waiting events (their lateness window has passed): they are
        dead letters now."""
        self.waiting = [e for e in self.waiting if e.event_id not in event_ids]

    @property
    def version(self) -> int:
        """Grows with every accepted event, emitted alert and retraction; a
        function of the input only, so a replay writes the same versions."""
        return len(self.events) + sum(f.version for f in self.fired.values())

    def _step(self, ev: DossierEvent, rules: Rules) -> bool:
        """Apply one event in order; False when it is impossible at its place."""
        at = ev.occurred_at
        self.rules = rules
        # The state giving way: its candidates that fire before this event become
        # certain; listed only if the first of them fires before it.
        first = self._first_candidate()
        ending = self._current() if first is not None and first < at else None
        if self.state.apply(ev, rules) is not None:
            return False
        for a in ending or ():
            if a.fires_at < at:
                self.certain[a.alert_id] = a
        self._tentative, self._first = None, _UNKNOWN
        return True

    def _since(self) -> datetime | None:
        """When the current state began to hold: its last applied event."""
        return self.events[-1].occurred_at if self.events else None

    def _current(self) -> list[AlertSpec]:
        """The current state's candidates (listed on first need)."""
        if self._tentative is None:
            since = self._since()
            self._tentative = [] if since is None or self.rules is None else \
                candidates(self.state, since, self.rules)
        return self._tentative

    def _first_candidate(self) -> datetime | None:
        """When the current state's first candidate fires (None: it has none)."""
        if self._first is _UNKNOWN:
            since = self._since()
            if self._tentative is not None:
                self._first = min((a.fires_at for a in self._tentative), default=None)
            else:
                self._first = None if since is None or self.rules is None else \
                    earliest(self.state, since, self.rules)
        return self._first  # type: ignore[return-value]

    def _refold(self, events: list[DossierEvent], rules: Rules, newcomer: str | None = None) -> bool:
        """Rebuild from scratch; events impossible at their place go to `waiting`.

        Returns whether the newcomer was applied."""
        fresh = DossierHistory(self.dossier_id)
        applied = True
        for ev in events:
            possible = fresh._step(ev, rules)
            (fresh.events if possible else fresh.waiting).append(ev)
            if not possible and ev.event_id == newcomer:
                applied = False
        self.events, self.waiting, self.state, self.certain = fresh.events, fresh.waiting, fresh.state, fresh.certain
        self.rules, self._tentative, self._first = rules, fresh._tentative, fresh._first
        return applied

    # ----------------------------------------------------------------- alerts
    def alerts(self) -> dict[str, AlertSpec]:
        """Every real alert given the events so far (fired or not)."""
        out = dict(self.certain)
        for a in self._current():
            out[a.alert_id] = a
        return out

    def _owed(self, a: AlertSpec) -> bool:
        """Real and not standing: never emitted, or retracted and made real again since."""
        f = self.fired.get(a.alert_id)
        return f is None or f.retracted

    def due_alerts(self, watermark: datetime) -> list[AlertSpec]:
        """Alerts whose time has come and that are owed (see `_owed`)."""
        timer = self.next_timer()
        if timer is None or timer > watermark:
            return []
        return sorted(
            (a for a in self.alerts().values() if a.fires_at <= watermark and self._owed(a)),
            key=lambda a: (a.fires_at, a.kind),
        )

    def disproved(self) -> list[str]:
        """Ids of emitted, unretracted alerts that the events no longer support."""
        standing = [aid for aid, f in self.fired.items() if not f.retracted and aid not in self.certain]
        if not standing:
            return []
        real = {a.alert_id for a in self._current()}
        return [aid for aid in standing if aid not in real]

    def next_fire_time(self) -> datetime | None:
        """When the next owed alert fires (None: none is owed)."""
        owed = [a.fires_at for a in self.alerts().values() if self._owed(a)]
        return min(owed) if owed else None

    def next_timer(self) -> datetime | None:
        """When this dossier's timer is due: never after its next owed alert, and without
        listing the current state's candidates until one of them may be due (then it
        is `next_fire_time`). None: nothing is owed."""
        if self._tentative is not None:
            return self.next_fire_time()
        owed = [a.fires_at for a in self.certain.values() if self._owed(a)]
        first = self._first_candidate()
        if first is not None:
            owed.append(first)
        return min(owed) if owed else None

    @property
    def active(self) -> bool:
        """Open, or still owing an alert: such a dossier is restored at start."""
        return not self.state.finished or self.next_fire_time() is not None

    def breached(self, breach_at: datetime) -> bool:
        """Has the breach of the current due time been emitted (and stood)?"""
        return any(
            f.kind == "sla_breach" and not f.retracted and f.fires_at == breach_at
            for f in self.fired.values()
        )

    def classification(self, rules: Rules) -> Classification:
        """By local date once finished (early, on_time, overdue); while open, `open_overdue`
        once the breach of its current due time has been emitted and stands, else `open`."""
        s = self.state
        done = s.finish_classification(rules.calendar)
        if done is not None:
            return done
        if s.due_at is not None and self.breached(rules.calendar.start_of_next_day(s.due_at)):
            return "open_overdue"
        return "open"
