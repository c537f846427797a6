"""A realistic synthetic province as a time-sorted JSON Lines replay file.

No public dossier-level data exists, so the product makes its own. ``generate`` plays
the land units of ``replay.province`` over ``months`` months: each working day it takes
in dossiers (office-hour arrivals at the desk, online filings at any hour), decides each
dossier's whole story (transfers between units, supplement requests, tax coordination,
apology letters, results attached or not, dossiers closed late or withdrawn), and
writes the events in time order, with the small share of malformed and duplicate lines
a real feed has. It streams: stories are told in order of intake day and merged through
a heap that only holds events not yet due for writing, so a year of a large province
runs in bounded memory. It is deterministic for a seed (one ``random.Random``, no wall
clock, no dependence on set order or ``hash()``).

Because the generator decides every story, it also judges every dossier by the rules
(`replay.truth`) and returns that ground truth in ``GenerateStats``, so tests and demos
can check the pipeline's numbers against it.
"""

from __future__ import annotations

import gzip
import heapq
import math
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from stream_app.domain.calendar import TZ, WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.replay.dvcqg import SyncRenderer
from stream_app.replay.province import (
    BRANCH,
    BRANCH_MIX,
    DEFAULT_TRANSFER,
    GIVEN_NAMES,
    HABITS,
    MIDDLE_NAMES,
    OFFICE,
    OFFICE_MIX,
    ONLINE_DAY_OFF,
    ONLINE_HOUR,
    ONLINE_PAYMENT,
    PERSONAL_SHARE,
    REJECTED,
    SEASON,
    SECOND_APOLOGY,
    SENT_BACK,
    SUPPLEMENT_ABANDONED,
    SURNAMES,
    TAX_HABITS,
    TAX_SHARE,
    TO_BRANCH,
    TO_OFFICE,
    UNLISTED_PROCEDURE,
    UNLISTED_SHARE,
    WEEKDAY,
    WITHDRAWN,
    load_units,
)
from stream_app.replay.truth import (
    WORKING_DAY,
    GenerateStats,
    StoryEvent,
    UnitStats,
    due_by_rules,
    judge,
    tax_limit,
)

DEFAULT_START = date(2023, 10, 1)  # late 2023: the province saw 17.8-20.7 % late
DEFAULT_DOSSIERS_PER_MONTH = 6_000  # a ~1 M-people province: 60-100 thousand a year
WORKING_DAYS_PER_YEAR = 248
# Stories are cut here (the dossier stays open): it bounds what the merge heap holds.
MAX_STORY = timedelta(days=120)
# Dossiers received this long before the period and still in process at its start are
# written too, with their history: without them the first month would finish only the
# quick dossiers of that month and look far better than it was.
LEAD_IN = timedelta(days=75)
MALFORMED_SHARE = 0.005
DUPLICATE_SHARE = 0.005

_EPOCH = datetime(1970, 1, 1, tzinfo=TZ)
_MS = timedelta(milliseconds=1)

_UNKNOWN_TYPES = ("comment_added", "dossier_viewed", "payment_reminder_sent", "status_synced")


# -- stories ----------------------------------------------------------------------------


class _Intake(NamedTuple):
    received_at: datetime
    unit: str
    channel: str
    slow: float  # >1 after a long holiday or in a rush: the backlog slows everyone


class _Storyteller:
    """Decides the whole story of one dossier, from intake to conclusion."""

    def __init__(self, rng: random.Random, cal: WorkingCalendar, catalog: Catalog) -> None:
        self.rng, self.cal, self.catalog = rng, cal, catalog
        units = load_units()
        self.office = next(code for code in HABITS if units[code].kind == OFFICE)
        self.branches = [code for code in HABITS if units[code].kind == BRANCH]
        self.branch_shares = [HABITS[code].share for code in self.branches]

    def tell(self, dossier_id: str, intake: _Intake) -> list[StoryEvent]:
        rng, cal, unit = self.rng, self.cal, intake.unit
        habits = HABITS[unit]
        code = self._procedure(unit)
        proc = self.catalog.lookup(code, cal.local_date(intake.received_at))
        limit = proc.limit_working_days if proc else None
        own: dict[str, Any] = {"procedure_code": code, "channel": intake.channel}
        if limit:
            own["source_due_at"] = _iso(cal.add_days(intake.received_at, limit))
        if rng.random() < PERSONAL_SHARE:
            own["applicant_name"] = " ".join(rng.choice(names) for names in (SURNAMES, MIDDLE_NAMES, GIVEN_NAMES))
            own["phone"] = "09" + "".join(rng.choice("0123456789") for _ in range(8))
        story = [StoryEvent(intake.received_at, "received", unit, own)]

        clock = intake.received_at
        if rng.random() < habits.supplement:
            # The completeness check finds a gap within the first working days.
            asked = cal.add(clock, _hours(rng.uniform(0.2, 2.5) * 8))
            story.append(StoryEvent(asked, "supplement_requested", unit, {}))
            if rng.random() < SUPPLEMENT_ABANDONED:
                return story
            clock = self._office_moment_after(asked, round(_clamp(rng.lognormvariate(math.log(6), 0.6), 1, 45)))
            story.append(StoryEvent(clock, "supplement_received", unit, {}))

        # The working time the dossier needs at the land units, from the (re)start.
        work = (limit or 10) * 8 * rng.lognormvariate(math.log(habits.pace * intake.slow), habits.spread)
        steps: list[tuple[float, str]] = [(1.0, "result")]
        other = self._transfer_partner(unit, code)
        if other:
            there, back = rng.uniform(0.1, 0.3), rng.uniform(0.65, 0.9)
            steps += [(there, "out"), (back, "back")]
            if rng.random() < SENT_BACK:  # returned for correction, then sent again
                steps += zip(sorted(rng.uniform(there, back) for _ in range(2)), ("back", "out"))
        if proc and proc.tax_interlinked and rng.random() < TAX_SHARE.get(code, 0.0):
            steps.append((rng.uniform(0.3, 0.6), "tax"))
        end_early = rng.random()
        if end_early < WITHDRAWN:
            steps.append((rng.uniform(0.05, 0.9), "withdrawn"))
        elif end_early < WITHDRAWN + REJECTED:
            steps.append((rng.uniform(0.2, 0.95), "rejected"))
        steps.sort()

        holder, t, done = unit, clock, 0.0
        for share, step in steps:
            # A few working minutes at least between steps: nothing happens twice at once.
            t = cal.add(t, _hours((share - done) * work + rng.uniform(0.03, 0.3)))
            done = share
            if step == "out":
                story.append(StoryEvent(t, "transferred", holder, {"to_unit": other}))
                holder = other
            elif step == "back":
                story.append(StoryEvent(t, "transferred", holder, {"to_unit": unit}))
                holder = unit
            elif step == "tax":
                t = self._tax(story, t, holder, habits.tax_office, code)
            elif step == "withdrawn":
                story.append(StoryEvent(t, "withdrawn", holder, {}))
                return story
            elif step == "rejected":
                story.append(StoryEvent(t, "concluded", holder, {"outcome": "rejected"}))
                if rng.random() < 0.5:  # the refusal letter handed over
                    story.append(StoryEvent(self._return_moment(t), "result_returned", holder, {}))
                return story
            else:
                break
        self._finish(story, t, holder, dossier_id)
        if limit:
            self._apology(story, t, limit)
        story.sort(key=lambda e: e.at)  # stable: same-moment events keep their order
        return story

    def _procedure(self, unit: str) -> str:
        if self.rng.random() < UNLISTED_SHARE:
            return UNLISTED_PROCEDURE
        mix = OFFICE_MIX if unit == self.office else BRANCH_MIX
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]

    def _transfer_partner(self, unit: str, code: str) -> str | None:
        """The unit the dossier visits and comes back from, if any."""
        if unit in self.branches:
            if self.rng.random() < TO_OFFICE.get(code, DEFAULT_TRANSFER):
                return self.office
            return None
        if self.rng.random() < TO_BRANCH.get(code, DEFAULT_TRANSFER):
            return self.rng.choices(self.branches, weights=self.branch_shares)[0]
        return None

    def _tax(self, story: list[StoryEvent], sent: datetime, holder: str, office: str, code: str) -> datetime:
        """Information slip to tax, payment notice, proof of payment; returns the payment."""
        rng, cal = self.rng, self.cal
        story.append(StoryEvent(sent, "sent_to_tax", holder, {"tax_office": office}))
        days = tax_limit(self.catalog, code, cal.local_date(sent))
        late = rng.random() < TAX_HABITS[office].late
        share = rng.uniform(1.05, 2.2) if late else rng.uniform(0.1, 0.95)
        notice = cal.add(sent, _hours(share * days * 8))
        story.append(StoryEvent(notice, "tax_notice_issued", office, {}))
        online = rng.random() < ONLINE_PAYMENT
        days = round(_clamp(rng.lognormvariate(math.log(2 if online else 4), 0.7), 0, 40))
        paid = self._office_moment_after(notice, days)
        story.append(StoryEvent(paid, "obligation_paid", holder, {"channel": "online" if online else "counter"}))
        return paid

    def _finish(self, story: list[StoryEvent], done: datetime, holder: str, dossier_id: str) -> None:
        """Result attached, dossier concluded, result returned; or one of the failures."""
        rng, cal = self.rng, self.cal
        habits = HABITS[story[0].agency]
        document = {"document_ref": f"KQ/{dossier_id}.pdf", "signed": rng.random() > 0.03}
        habit = rng.random()
        if habit < habits.left_open:
            # The work is done, nobody closes the dossier on the system for days.
            attached = rng.random() < 0.8
            if attached:
                story.append(StoryEvent(done, "result_attached", holder, document))
            if not attached or rng.random() < 0.7:
                story.append(StoryEvent(cal.add(done, _hours(rng.uniform(0.2, 12))), "result_returned", holder, {}))
            concluded = cal.add(done, _hours(rng.uniform(1.6, 12) * 8))
            story.append(StoryEvent(concluded, "concluded", holder, {"outcome": "approved"}))
            return
        concluded = cal.add(done, _hours(rng.uniform(0.05, 3)))
        if habit >= habits.left_open + habits.no_result:
            story.append(StoryEvent(done, "result_attached", holder, document))
        story.append(StoryEvent(concluded, "concluded", holder, {"outcome": "approved"}))
        if rng.random() < 0.85:
            story.append(StoryEvent(self._return_moment(concluded), "result_returned", holder, {}))

    def _apology(self, story: list[StoryEvent], done: datetime, limit: float) -> None:
        """An apology letter with a new date for some dossiers that run late."""
        rng, cal = self.rng, self.cal
        habits = HABITS[story[0].agency]
        concluded = next(e.at for e in story if e.type == "concluded")
        due, _ = due_by_rules(cal, [e for e in story if e.at <= concluded], limit)
        if due is None or cal.local_date(concluded) <= cal.local_date(due) or rng.random() >= habits.apology:
            return
        restarted = max(e.at for e in story if e.type in ("received", "supplement_received", "obligation_paid"))
        letter = None
        if rng.random() >= habits.late_apology:
            letter = cal.subtract(due, _hours(8 + rng.uniform(0.1, 16)))
            letter = letter if letter > restarted else None
        if letter is None:  # too late: less than a working day before due, or after it
            lo = max(cal.clock_start(restarted), cal.subtract(due, _hours(7.5)))
            hi = min(done, cal.add(due, 3 * WORKING_DAY))
            if hi <= lo:
                return
            letter = cal.add(lo, cal.between(lo, hi) * rng.uniform(0.05, 0.95))
        if not restarted < letter < done:
            return
        new_due = self._end_of_day(cal.add_days(max(done, due), rng.uniform(0.3, 3)))
        story.append(StoryEvent(letter, "extended", self._holder_at(story, letter), {"new_due_at": _iso(new_due)}))
        if rng.random() < SECOND_APOLOGY:
            second = cal.add(letter, cal.between(letter, done) * rng.uniform(0.2, 0.9))
            if letter < second < done:
                new_due = self._end_of_day(cal.add_days(new_due, rng.uniform(1, 5)))
                story.append(StoryEvent(second, "extended", self._holder_at(story, second), {"new_due_at": _iso(new_due)}))

    def _holder_at(self, story: list[StoryEvent], at: datetime) -> str:
        holder = story[0].agency
        for e in story:
            if e.type == "transferred" and e.at <= at:
                holder = e.fields["to_unit"]
        return holder

    def _office_moment_after(self, t: datetime, days: int) -> datetime:
        """A citizen comes back: a desk moment on the first working day ``days`` after ``t``."""
        day = self.cal.local_date(t) + timedelta(days=days)
        while not self.cal.is_working_day(day):
            day += timedelta(days=1)
        moment = desk_moment(self.rng, day)
        return moment if moment > t else self.cal.add(t, _hours(self.rng.uniform(0.1, 2)))

    def _return_moment(self, concluded: datetime) -> datetime:
        return self._office_moment_after(concluded, self.rng.choice((0, 0, 1, 1, 2, 3, 5, 7, 10)))

    def _end_of_day(self, t: datetime) -> datetime:
        return datetime.combine(self.cal.local_date(t), time(17), TZ)


def desk_moment(rng: random.Random, day: date) -> datetime:
    """When a citizen shows up at a desk: a morning peak, a smaller afternoon one."""
    if rng.random() < 0.62:
        minutes = 7 * 60 + rng.triangular(0, 269, 80)
    else:
        minutes = 13 * 60 + 30 + rng.triangular(0, 209, 50)
    seconds = int(minutes * 60) + rng.randrange(60)
    return datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60,
                                      rng.randrange(1000) * 1000), TZ)


def _hours(h: float) -> timedelta:
    return timedelta(milliseconds=round(h * 3_600_000))


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _iso(t: datetime) -> str:
    return t.astimezone(TZ).isoformat(timespec="milliseconds")


# -- intake -----------------------------------------------------------------------------


class _Window(NamedTuple):
    """Intake closing at the end of ``day``'s office hours, opening at the previous close:
    online filings made after hours, at a weekend or on a holiday belong to it."""

    day: date
    start: datetime
    end: datetime
    desk_open: bool  # ``day`` is inside the period: desks receive too


def _windows(cal: WorkingCalendar, start: date, end: date) -> list[_Window]:
    close = cal.office_hours.periods[-1][1]
    lo, period_end = datetime.combine(start, time(0), TZ), datetime.combine(end, time(0), TZ)
    windows, day = [], start
    while lo < period_end:
        while not cal.is_working_day(day):
            day += timedelta(days=1)
        hi = min(datetime.combine(day, close, TZ), period_end)
        if hi > lo:
            windows.append(_Window(day, lo, hi, day < end))
            lo = hi
        day += timedelta(days=1)
    return windows


class _Intaker:
    """Who files what, where and when, window by window; numbers the dossiers."""

    def __init__(self, rng: random.Random, cal: WorkingCalendar, per_month: float) -> None:
        self.rng, self.cal = rng, cal
        self.per_day = per_month * 12 / WORKING_DAYS_PER_YEAR
        self.units = list(HABITS)
        self.backlog = 0.0  # extra intake after a long holiday, fading day by day
        self.previous: date | None = None
        self.sequence: dict[tuple[str, date], int] = {}

    def take(self, window: _Window) -> list[tuple[str, _Intake]]:
        rng, cal = self.rng, self.cal
        gap = (window.day - self.previous).days if self.previous else 1
        self.previous = window.day
        # After Tết (or any break longer than a weekend) the queue is long and slow.
        self.backlog = 0.12 * min(gap - 3, 6) if gap >= 4 else self.backlog * 0.55
        season = SEASON[window.day.month]
        factor = season * WEEKDAY[window.day.weekday()] * (1 + self.backlog)
        slow = 1 + 0.6 * self.backlog + 0.4 * max(0.0, season - 1)
        online_days = self._online_days(window)
        arrivals: list[tuple[datetime, int, int, str]] = []
        for index, unit in enumerate(self.units):
            habits = HABITS[unit]
            expected = self.per_day * habits.share * factor
            if window.desk_open:
                for _ in range(_poisson(rng, expected * (1 - habits.online))):
                    if rng.random() < habits.postal / (1 - habits.online):
                        # The morning mail is logged between 07:30 and 10:30.
                        at = datetime.combine(window.day, time(7, 30), TZ) + _hours(rng.uniform(0, 3))
                        arrivals.append((at, index, len(arrivals), "postal"))
                    else:
                        arrivals.append((desk_moment(rng, window.day), index, len(arrivals), "direct"))
            for _ in range(_poisson(rng, expected * habits.online * online_days)):
                arrivals.append((self._online_moment(window), index, len(arrivals), "online"))
        arrivals.sort()
        for key in [k for k in self.sequence if k[1] < window.start.date()]:
            del self.sequence[key]
        taken = []
        for at, index, _, channel in arrivals:
            unit, day = self.units[index], cal.local_date(at)
            n = self.sequence[unit, day] = self.sequence.get((unit, day), 0) + 1
            if n > 9999:
                raise ValueError(f"more than 9999 dossiers at {unit} on {day}: lower dossiers_per_month")
            taken.append((f"{unit}-{day:%y%m%d}-{n:04d}", _Intake(at, unit, channel, slow)))
        return taken

    def _online_days(self, window: _Window) -> float:
        """The window's length in days, days off weighted less (fewer people file then)."""
        total, t = 0.0, window.start
        while t < window.end:
            next_midnight = datetime.combine(t.date() + timedelta(days=1), time(0), TZ)
            span = (min(next_midnight, window.end) - t) / timedelta(days=1)
            total += span * (1 if self.cal.is_working_day(t.date()) else ONLINE_DAY_OFF)
            t = next_midnight
        return total

    def _online_moment(self, window: _Window) -> datetime:
        span_ms = (window.end - window.start) // _MS
        while True:
            at = window.start + self.rng.randrange(span_ms) * _MS
            weight = ONLINE_HOUR[at.hour] * (1 if self.cal.is_working_day(at.date()) else ONLINE_DAY_OFF)
            if self.rng.random() < weight:
                return at


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, n, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        n += 1
        p *= rng.random()
    return n


# -- output -----------------------------------------------------------------------------


class _Feed:
    """Writes valid lines in time order through a bounded heap, with a real feed's noise:
    exact duplicate lines and malformed lines (extra copies, so the ground truth holds).
    Sync envelopes (`envelopes`) get their own noise: cut-off lines, and records of
    dossiers nobody has with a status code no mapping knows."""

    def __init__(self, sink: IO[bytes], rng: random.Random, stats: GenerateStats, envelopes: bool = False) -> None:
        self.sink, self.rng, self.stats, self.envelopes = sink, rng, stats, envelopes
        self.heap: list[tuple[int, int, bytes]] = []
        self.seq = 0
        self.last_ms: int | None = None

    def push(self, at: datetime, line: bytes) -> None:
        heapq.heappush(self.heap, ((at - _EPOCH) // _MS, self.seq, line))
        self.seq += 1

    def flush_before(self, at: datetime | None) -> None:
        """Write every event earlier than ``at`` (all of them for None)."""
        bound = None if at is None else (at - _EPOCH) // _MS
        heap, rng, out = self.heap, self.rng, []
        while heap and (bound is None or heap[0][0] < bound):
            ms, _, line = heapq.heappop(heap)
            self.last_ms = ms
            out.append(line)
            if self.envelopes:
                self.stats.envelopes += 1
                if rng.random() < MALFORMED_SHARE:
                    out.append(self._malformed_envelope(line))
                    self.stats.malformed += 1
                continue
            self.stats.events += 1
            if rng.random() < DUPLICATE_SHARE:
                out.append(line)
                self.stats.duplicates += 1
            if rng.random() < MALFORMED_SHARE:
                out.append(self._malformed(line))
                self.stats.malformed += 1
        if out:
            self.sink.write(b"\n".join(out) + b"\n")
        if self.last_ms is not None:
            self.stats.last_event_at = _EPOCH + self.last_ms * _MS

    def _malformed_envelope(self, line: bytes) -> bytes:
        if self.rng.random() < 0.7:  # cut off in transit
            return line[: self.rng.randrange(1, len(line) - 1)]
        obj = orjson.loads(line)
        code = f"000.00.00.H53-{self.rng.randrange(10**6):06d}-{self.rng.randrange(10**4):04d}"
        return orjson.dumps({"madonvi": obj.get("madonvi"), "service": "DongBoHoSoMC", "isUpdating": "False",
                             "data": [{"MaHoSo": code, "MaTTHC": "1.012711", "TrangThaiHoSo": "99",
                                       "NgayTiepNhan": "20231002080000"}]})

    def _malformed(self, line: bytes) -> bytes:
        rng, kind = self.rng, self.rng.random()
        if kind < 0.3:  # cut off in transit: never valid JSON
            return line[: rng.randrange(1, len(line) - 1)]
        obj = orjson.loads(line)
        if kind < 0.55:  # a source system left out a required field
            own = {"received": "procedure_code", "transferred": "to_unit",
                   "extended": "new_due_at", "concluded": "outcome"}.get(obj["event_type"])
            del obj[rng.choice(["event_id", "dossier_id", "occurred_at", "agency_code"] + ([own] if own else []))]
        elif kind < 0.8:  # local time without its offset
            obj["occurred_at"] = obj["occurred_at"][:-6]
        else:  # an event type the contract does not know
            obj["event_type"] = rng.choice(_UNKNOWN_TYPES)
        return orjson.dumps(obj)


def _line(dossier_id: str, n: int, event: StoryEvent) -> bytes:
    obj = {"event_id": f"{dossier_id}:{n}", "event_type": event.type, "dossier_id": dossier_id,
           "occurred_at": _iso(event.at), "agency_code": event.agency}
    obj.update(event.fields)
    # orjson hands back a 4 KiB buffer; a compact copy keeps the merge heap small.
    return memoryview(orjson.dumps(obj)).tobytes()


@contextmanager
def _open(out: Path) -> Iterator[IO[bytes]]:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as raw:
        if out.name.endswith(".gz"):
            # No name and no time in the header: the same seed gives the same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
                yield gz
        else:
            yield raw


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("Generating intake days", total=total)
        yield lambda: bar.advance(task)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def generate(
    out: Path,
    *,
    months: int = 2,
    seed: int = 1,
    dossiers_per_month: int | None = None,
    start: date | None = None,
    progress: bool = False,
    lead_in: bool = True,
    format: str = "events",
    whole_seconds: bool | None = None,
) -> GenerateStats:
    """Write ``months`` months of the province's dossier events to ``out`` (JSON Lines,
    gzip if the name ends in .gz), time-sorted; return what was written and its truth.

    The period runs from ``start`` (default 2023-10-01) to the first day of the month
    ``months`` later; events after it are not written, so dossiers still open then stay
    open in the file. With ``lead_in`` the file opens with the history of the dossiers
    already in process on ``start`` (received up to LEAD_IN before it), as an export of
    every dossier active in the period would. The same arguments always give the same
    bytes.

    ``format="dvcqg"`` writes the same stories as the provincial systems' sync envelopes
    (`replay.dvcqg`), quirks and fake personal fields included; their times have whole
    seconds, as the sync format does, so the stories are cut to the second
    (``whole_seconds``, which the events format takes too, for a like-for-like file).
    """
    if format not in ("events", "dvcqg"):
        raise ValueError(f"format must be events or dvcqg, got {format!r}")
    whole_seconds = format == "dvcqg" if whole_seconds is None else whole_seconds
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    per_month = DEFAULT_DOSSIERS_PER_MONTH if dossiers_per_month is None else dossiers_per_month
    if per_month < 0:
        raise ValueError(f"dossiers_per_month must not be negative, got {per_month}")
    start = start or DEFAULT_START
    end = _add_months(start, months)
    start_at, end_at = datetime.combine(start, time(0), TZ), datetime.combine(end, time(0), TZ)
    cal, catalog = WorkingCalendar.load(), Catalog.load()
    rng = random.Random(seed)
    stats = GenerateStats(start, end, units={unit: UnitStats() for unit in HABITS})
    month = start.replace(day=1)
    while month < end:
        stats.months[month] = UnitStats()
        month = _add_months(month, 1)
    windows = _windows(cal, (start_at - LEAD_IN).date() if lead_in else start, end)
    teller, intaker = _Storyteller(rng, cal, catalog), _Intaker(rng, cal, per_month)
    with ExitStack() as stack:
        sink = stack.enter_context(_open(Path(out)))
        advance = stack.enter_context(_progress(progress, len(windows)))
        # A separate stream for the noise, so the stories do not depend on it.
        feed = _Feed(sink, random.Random(f"{seed}:feed"), stats, envelopes=format == "dvcqg")
        renderer = SyncRenderer(random.Random(f"{seed}:dvcqg"), load_units(), catalog) if format == "dvcqg" else None
        for window in windows:
            # Nothing told from here on happens before the window opens.
            feed.flush_before(window.start)
            for dossier_id, intake in intaker.take(window):
                story = teller.tell(dossier_id, intake)
                cut = min(end_at, intake.received_at + MAX_STORY)
                kept = [e for e in story if e.at < cut]
                if whole_seconds:
                    kept = [_to_second(e) for e in kept]
                if kept[0].at < start_at and any(
                    e.type in ("concluded", "withdrawn") and e.at < start_at for e in kept
                ):
                    continue  # finished before the period: not part of it
                judge(cal, catalog, kept, end_at, stats)
                stats.dossiers += 1
                if renderer is not None:
                    for at, line in renderer.pushes(dossier_id, kept):
                        feed.push(at, line)
                    continue
                for n, event in enumerate(kept, 1):
                    feed.push(event.at, _line(dossier_id, n, event))
            advance()
        feed.flush_before(None)
    if renderer is not None:
        stats.personal = renderer.personal
    return stats


def _to_second(event: StoryEvent) -> StoryEvent:
    """The event with its times cut to the second (the sync format has no milliseconds)."""
    fields = {k: (_iso(datetime.fromisoformat(v).replace(microsecond=0)) if k.endswith("_at") and isinstance(v, str)
                  else v) for k, v in event.fields.items()}
    return event._replace(at=event.at.replace(microsecond=0), fields=fields)
