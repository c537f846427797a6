"""The times a provincial system writes, read as instants.

The senders write local time without an offset: `yyyyMMddHHmmss` above all, also
`yyyy-MM-dd HH:mm:ss`, ISO 8601 without an offset and `dd/MM/yyyy HH:mm:ss`, in
Asia/Ho_Chi_Minh. One land database writes UTC instead (the one-stop system then adds
7 hours): a sender named in the mapping's `[times] utc_units`, or every sender with
`utc = true`, is read as UTC. A value that carries its own offset is taken as it says.
Empty values and the placeholders some builds send for "no date" are `None`; anything
else that is not a time raises `ValueError` naming the format expected, never the value.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone, tzinfo

from stream_app.domain.calendar import TZ

MIN_YEAR, MAX_YEAR = 2000, 2100
# What builds send for "no date yet" besides an empty string.
EMPTY = frozenset({"", "null", "none", "0", "00000000000000", "0001-01-01 00:00:00", "0001-01-01T00:00:00"})

_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})", re.ASCII)
_DMY = re.compile(r"(\d{2})/(\d{2})/(\d{4})[ T](\d{2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_DATE_DMY = re.compile(r"(\d{2})-(\d{2})-(\d{4})", re.ASCII)
FORMATS = "yyyyMMddHHmmss, yyyy-MM-dd HH:mm:ss, ISO 8601 or dd/MM/yyyy HH:mm:ss"


def parse_time(value: object, *, utc: bool = False) -> datetime | None:
    """An aware instant from a sender's time (local unless `utc`), or None when empty."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a time ({FORMATS})")
    text = value.strip()
    if text.casefold() in EMPTY:
        return None
    zone: tzinfo = timezone.utc if utc else TZ
    if len(text) > 40:
        raise ValueError(f"expected a time ({FORMATS})")
    try:
        if m := _COMPACT.fullmatch(text):
            t = datetime(*map(int, m.groups()))
        elif m := _DMY.fullmatch(text):
            d, mo, y, h, mi, s = m.groups()
            t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        else:
            t = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected a time ({FORMATS})") from None
    if not MIN_YEAR <= t.year <= MAX_YEAR:
        raise ValueError(f"year outside {MIN_YEAR}..{MAX_YEAR}")
    return (t if t.tzinfo is not None else t.replace(tzinfo=zone)).astimezone(TZ)


def parse_day(value: object) -> date | None:
    """A date written `dd-MM-yyyy` (the tax notice's NGAY_QUYET_DINH), or any time above."""
    if isinstance(value, str) and (m := _DATE_DMY.fullmatch(value.strip())):
        d, mo, y = map(int, m.groups())
        try:
            day = date(y, mo, d)
        except ValueError:
            raise ValueError("expected a date dd-MM-yyyy") from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(f"year outside {MIN_YEAR}..{MAX_YEAR}")
        return day
    t = parse_time(value)
    return None if t is None else t.date()


def compact(t: datetime | None) -> str:
    """The senders' own format, `yyyyMMddHHmmss` in local time ('' for none)."""
    return "" if t is None else t.astimezone(TZ).strftime("%Y%m%d%H%M%S")
