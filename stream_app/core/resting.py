"""Dossiers at rest: kept as their pickled events and alerts, woken when next needed.

A worker holds every open dossier of the province (and a replay every dossier
it has met). As a live `DossierHistory` — state, candidate alerts, parsed
events — a dossier costs about 2.3 KB; its events and fired alerts pickled,
about 300 B. A history is a function of its events (`DossierHistory.from_events`
refolds them; the restore from ClickHouse relies on the same rule), so the
processor keeps its most recently used dossiers live and the others here, and
wakes one on its next event or timer. Pickles never leave the process.
"""

from __future__ import annotations

import pickle
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any, KeysView

from stream_app.domain.alerts import AlertSpec
from stream_app.domain.dossier import Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import DossierHistory, FiredAlert

_FIELDS = tuple(f.name for f in fields(DossierEvent))
_SPEC_FIELDS = tuple(f.name for f in fields(AlertSpec))


class RestingDossiers:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def __contains__(self, dossier_id: object) -> bool:
        return dossier_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def keys(self) -> KeysView[str]:
        return self._blobs.keys()

    def put(self, h: DossierHistory) -> None:
        """Put a live dossier at rest (never one holding waiting events: those stay live)."""
        if h.waiting:
            raise ValueError(f"{h.dossier_id}: a dossier holding events back stays live")
        # Events as plain tuples: pickling slotted dataclasses goes through copyreg per object.
        events = [tuple(_pack(getattr(e, f)) for f in _FIELDS) for e in h.events]
        fired = [(f.kind, _pack(f.fires_at), _pack(f.emitted_at), f.retracted,
                  None if f.spec is None else tuple(_pack(getattr(f.spec, n)) for n in _SPEC_FIELDS), f.version)
                 for f in h.fired.values()]
        self._blobs[h.dossier_id] = pickle.dumps((events, list(h.fired), fired), protocol=pickle.HIGHEST_PROTOCOL)

    def wake(self, dossier_id: str, rules: Rules) -> DossierHistory | None:
        """Take the dossier out, live again (None if it is not here)."""
        blob = self._blobs.pop(dossier_id, None)
        return None if blob is None else _rebuild(dossier_id, blob, rules)

    def drop(self, dossier_id: str) -> None:
        self._blobs.pop(dossier_id, None)

    def peek(self, dossier_id: str, rules: Rules) -> DossierHistory | None:
        """A rebuilt copy; the dossier stays at rest."""
        blob = self._blobs.get(dossier_id)
        return None if blob is None else _rebuild(dossier_id, blob, rules)


def _rebuild(dossier_id: str, blob: bytes, rules: Rules) -> DossierHistory:
    rows, ids, fired = pickle.loads(blob)  # noqa: S301 - written by freeze() in this process
    h = DossierHistory.from_events(dossier_id, [DossierEvent(*map(_unpack, row)) for row in rows], rules)
    h.fired = {alert_id: FiredAlert(kind, _unpack(fires_at), _unpack(emitted_at), retracted,
                                    None if spec is None else AlertSpec(*map(_unpack, spec)), version)
               for alert_id, (kind, fires_at, emitted_at, retracted, spec, version) in zip(ids, fired)}
    return h


# Aware datetimes pickle slowly (their tzinfo is reduced each time): (epoch microseconds,
# UTC offset in minutes) instead, which gives back the same instant and offset.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ZONES: dict[int, timezone] = {}


def _pack(v: Any) -> Any:
    if type(v) is not datetime:
        return v
    offset = v.utcoffset()
    return ((v - _EPOCH) // _US, int(offset.total_seconds()) // 60 if offset is not None else 0)


def _unpack(v: Any) -> Any:
    if type(v) is not tuple:
        return v
    us, minutes = v
    zone = _ZONES.get(minutes)
    if zone is None:
        zone = _ZONES[minutes] = timezone(timedelta(minutes=minutes))
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


_US = timedelta(microseconds=1)
