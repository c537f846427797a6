"""Vietnamese working time: which days are working days and how office time adds up.

Owns the rules of docs/domain.md "Working time": Monday to Friday, minus public holidays
(the ``holidays`` package, country VN, for Tết and the observed days), minus the extra
days off of the yearly table, plus its make-up Saturdays; office hours (default
07:00-11:30 and 13:30-17:00, 8 hours = 1 working day) in Asia/Ho_Chi_Minh.

Every moment maps to its *office position*: the office time, in integer microseconds,
from a fixed origin up to that moment. The position stands still outside office hours
and grows by one working day per working day. Adding, subtracting and measuring office
time are integer arithmetic on positions plus two bisections in a per-day table of
working-day counts, so a 20-working-day limit costs the same as a 1-hour one.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_EMPTY: Mapping[date, str] = MappingProxyType({})
# A garbage year in an event must fail fast instead of building tables for centuries.
_MIN_YEAR, _MAX_YEAR = 1950, 2199
_WEEKEND_NAMES = ("Thứ Bảy", "Chủ nhật")
_TOML_KEYS = {"day_off": "Ngày nghỉ", "working_day": "Ngày làm bù"}
SHIPPED = "stream_app/data/calendar.toml"
HOLIDAYS_SOURCE = "the holidays package (country VN)"


def _us_of(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _us_in(delta: timedelta) -> int:
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if us < 0:
        raise ValueError(f"working time must not be negative, got {delta}")
    return us


@dataclass(frozen=True)
class OfficeHours:
    """Daily office periods, each half-open [start, end), in local wall-clock time."""

    periods: tuple[tuple[time, time], ...] = ((time(7), time(11, 30)), (time(13, 30), time(17)))

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("office hours need at least one period")
        previous_end = time.min
        for start, end in self.periods:
            if start.tzinfo or end.tzinfo or not previous_end <= start < end:
                raise ValueError(f"office periods must be local times, ordered and disjoint: {start}-{end}")
            previous_end = end

    @property
    def hours_per_day(self) -> float:
        return sum(_us_of(end) - _us_of(start) for start, end in self.periods) / 3_600_000_000

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """Read "07:00-11:30,13:30-17:00" (the format of the configuration file)."""
        try:
            return cls(tuple(tuple(map(time.fromisoformat, _pair(part))) for part in text.split(",")))
        except ValueError as error:
            raise ValueError(f"bad office hours {text!r}, expected e.g. 07:00-11:30,13:30-17:00: {error}") from None


def _pair(part: str) -> tuple[str, str]:
    start, end = (bound.strip() for bound in part.split("-"))
    return start, end


class WorkingCalendar:
    """Working days and office-time arithmetic; every datetime in and out is tz-aware.

    Results are in ``tz``. Naive datetimes and negative working times raise ValueError.
    Day tables are built lazily, a few years at a time, and kept.
    """

    def __init__(
        self,
        office_hours: OfficeHours = OfficeHours(),
        extra_days_off: Mapping[date, str] = _EMPTY,
        extra_working_days: Mapping[date, str] = _EMPTY,
        tz: tzinfo = TZ,
    ) -> None:
        clash = extra_days_off.keys() & extra_working_days.keys()
        if clash:
            raise ValueError(f"dates both off and working: {sorted(clash)}")
        self.office_hours = office_hours
        self.tz = tz
        self.extra_days_off: Mapping[date, str] = MappingProxyType(dict(extra_days_off))
        self.extra_working_days: Mapping[date, str] = MappingProxyType(dict(extra_working_days))
        spans, elapsed = [], 0
        for start, end in office_hours.periods:
            spans.append((_us_of(start), _us_of(end), elapsed))
            elapsed += _us_of(end) - _us_of(start)
        self._spans = tuple(spans)
        self._day = elapsed
        self.working_day = timedelta(microseconds=elapsed)
        self._names: dict[date, str] = {}
        self._years: set[int] = set()
        self._lo = self._hi = self._base = 0
        # _cum[i]: working days before ordinal _base + i, counted from a fixed origin, so
        # the index of a working day never changes when the table grows.
        self._cum: list[int] = []
        # Years whose swaps a table checked against the government's decisions, and which
        # file named each extra day (set by `load`).
        self.confirmed: frozenset[int] = frozenset()
        self.sources: Mapping[date, str] = _EMPTY

    @classmethod
    def load(cls, path: Path | None = None, office_hours: OfficeHours | None = None) -> WorkingCalendar:
        """The shipped yearly table, then the administrator's file at ``path`` on top."""
        days_off: dict[date, str] = {}
        working_days: dict[date, str] = {}
        sources: dict[date, str] = {}
        shipped = files("stream_app") / "data" / "calendar.toml"
        confirmed = _merge_toml(shipped.read_text("utf-8"), SHIPPED, days_off, working_days, sources)
        if path is not None:
            confirmed |= _merge_toml(Path(path).read_text("utf-8"), str(path), days_off, working_days, sources)
        cal = cls(office_hours or OfficeHours(), days_off, working_days)
        cal.confirmed, cal.sources = frozenset(confirmed), MappingProxyType(sources)
        return cal

    def days_of(self, year: int) -> list[tuple[date, bool, str, str]]:
        """The year's days that are not as the weekday says — (day, works?, reason, source):
        public holidays on weekdays (the holidays package), the table's extra days off and
        make-up working days (the file that names each)."""
        self._index(date(year, 7, 1).toordinal())  # the year's holiday names are loaded
        out = []
        for d in sorted({*self._names, *self.extra_days_off, *self.extra_working_days}):
            if d.year != year:
                continue
            if d in self.extra_working_days:
                out.append((d, True, self.extra_working_days[d], self.sources.get(d, "")))
            elif d in self.extra_days_off:
                out.append((d, False, self.extra_days_off[d], self.sources.get(d, "")))
            elif d.weekday() < 5:
                out.append((d, False, self._names[d], HOLIDAYS_SOURCE))
        return out

    def is_working_day(self, d: date) -> bool:
        i = self._index(d.toordinal())
        return self._cum[i + 1] > self._cum[i]

    def day_off_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day, in Vietnamese for messages; None on a working day."""
        if self.is_working_day(d):
            return None
        return self.extra_days_off.get(d) or self._names.get(d) or _WEEKEND_NAMES[d.weekday() - 5]

    def local_date(self, t: datetime) -> date:
        return self._local(t).date()

    def start_of_next_day(self, t: datetime) -> datetime:
        """00:00 local of the day after ``t``'s local date: the first instant of that day."""
        return datetime.combine(self.local_date(t) + timedelta(days=1), time(0), self.tz)

    def clock_start(self, t: datetime) -> datetime:
        """``t`` if inside an office period, else the start of the next one."""
        return self._moment(*divmod(self._position(t), self._day), earliest=False)

    def add(self, t: datetime, working: timedelta) -> datetime:
        """First moment at which ``working`` office time has passed since clock_start(t)."""
        w = _us_in(working)
        if w == 0:
            return self.clock_start(t)
        # A limit using up a whole day ends at 17:00 that day (rest == day), not 07:00 next day.
        target = self._position(t) + w
        k = (target - 1) // self._day
        return self._moment(k, target - k * self._day, earliest=True)

    def subtract(self, t: datetime, working: timedelta) -> datetime:
        """Latest moment s with between(s, t) == working (``t`` itself for zero)."""
        w = _us_in(working)
        if w == 0:
            return self._local(t)
        return self._moment(*divmod(self._position(t) - w, self._day), earliest=False)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Office time in [a, b); zero if b <= a."""
        if b <= a:
            return timedelta(0)
        return timedelta(microseconds=self._position(b) - self._position(a))

    def add_days(self, t: datetime, days: float) -> datetime:
        return self.add(t, timedelta(microseconds=round(days * self._day)))

    def _local(self, t: datetime) -> datetime:
        if t.tzinfo is self.tz:
            return t
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"naive datetime {t.isoformat()}: a UTC offset is required")
        return t.astimezone(self.tz)

    def _position(self, t: datetime) -> int:
        lt = self._local(t)
        i = self._index(lt.toordinal())
        done = self._cum[i]
        if self._cum[i + 1] == done:
            return done * self._day
        us = ((lt.hour * 60 + lt.minute) * 60 + lt.second) * 1_000_000 + lt.microsecond
        for start, end, before in self._spans:
            if us < start:
                return done * self._day + before
            if us < end:
                return done * self._day + before + us - start
        return (done + 1) * self._day

    def _moment(self, k: int, rest: int, *, earliest: bool) -> datetime:
        """The moment ``rest`` office microseconds into the working day with index ``k``.

        At a boundary between periods: the end of the earlier one when ``earliest``
        (due times), else the start of the later one (clock starts, subtract)."""
        for start, end, before in self._spans:
            if rest < before + end - start or (earliest and rest == before + end - start):
                d = date.fromordinal(self._nth(k))
                seconds, micro = divmod(start + rest - before, 1_000_000)
                minutes, seconds = divmod(seconds, 60)
                return datetime(d.year, d.month, d.day, minutes // 60, minutes % 60, seconds, micro, tzinfo=self.tz)
        raise AssertionError("unreachable: rest is within one working day")

    def _index(self, ordinal: int) -> int:
        i = ordinal - self._base
        if not 0 <= i < len(self._cum) - 1:
            self._grow(date.fromordinal(ordinal).year)
            i = ordinal - self._base
        return i

    def _nth(self, k: int) -> int:
        """Ordinal of the working day with index ``k`` (as counted in _cum)."""
        while not self._cum[0] <= k < self._cum[-1]:
            self._grow(self._hi + 1 if k >= self._cum[-1] else self._lo - 1)
        return self._base + bisect_left(self._cum, k + 1) - 1

    def _grow(self, year: int) -> None:
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise ValueError(f"year {year} is outside the calendar's range {_MIN_YEAR}-{_MAX_YEAR}")
        # One year of margin each side: a stream moving forward rebuilds about once a year.
        lo, hi = max(year - 1, _MIN_YEAR), min(year + 1, _MAX_YEAR)
        if self._cum:
            lo, hi = min(lo, self._lo), max(hi, self._hi)
        new_years = [y for y in range(lo, hi + 1) if y not in self._years]
        if new_years:
            self._names.update(holidays.country_holidays("VN", years=new_years, language="vi"))
            self._years.update(new_years)
        base = date(lo, 1, 1).toordinal()
        days = date(hi + 1, 1, 1).toordinal() - base
        cum, count = [0] * (days + 1), 0
        for i in range(days):
            cum[i] = count
            count += self._works(date.fromordinal(base + i))
        cum[days] = count
        if self._cum:
            shift = self._cum[0] - cum[self._base - base]
            cum = [c + shift for c in cum]
        self._lo, self._hi, self._base, self._cum = lo, hi, base, cum

    def _works(self, d: date) -> bool:
        if d in self.extra_working_days:
            return True
        return d.weekday() < 5 and d not in self.extra_days_off and d not in self._names


def _merge_toml(text: str, source: str, days_off: dict[date, str], working_days: dict[date, str],
                sources: dict[date, str] | None = None) -> set[int]:
    """Add one file's [[day_off]] and [[working_day]] entries (a later file wins per date);
    return the years its `confirmed = [...]` says it checked against the government's decisions."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{source}: not valid TOML: {error}") from None
    unknown = doc.keys() - _TOML_KEYS.keys() - {"confirmed"}
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; expected [[day_off]], [[working_day]] "
                         "and confirmed = [YEAR, ...]")
    confirmed = doc.get("confirmed", [])
    if not isinstance(confirmed, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in confirmed):
        raise ValueError(f"{source}: confirmed must be a list of years, e.g. confirmed = [2027]")
    seen: set[date] = set()
    for key, default_reason in _TOML_KEYS.items():
        mine, other = (days_off, working_days) if key == "day_off" else (working_days, days_off)
        entries = doc.get(key, [])
        if not isinstance(entries, list):
            raise ValueError(f"{source}: {key} must be an array of tables, written [[{key}]]")
        for n, entry in enumerate(entries, 1):
            where = f"{source}: [[{key}]] entry {n}"
            if not isinstance(entry, dict) or "date" not in entry or entry.keys() - {"date", "reason"}:
                raise ValueError(f"{where}: expected `date = YYYY-MM-DD` and an optional `reason`")
            d, reason = entry["date"], entry.get("reason", default_reason)
            if isinstance(d, datetime) or not isinstance(d, date) or not isinstance(reason, str) or not reason:
                raise ValueError(f"{where}: need a bare TOML date such as 2024-04-29 and a text reason, got {d!r}")
            if d in seen:
                raise ValueError(f"{where}: {d.isoformat()} is listed more than once in this file")
            seen.add(d)
            other.pop(d, None)
            mine[d] = reason
            if sources is not None:
                sources[d] = source
    return set(confirmed)
