"""Dossiers at rest: kept as their pickled events and alerts, rebuilt when next needed.

A worker holds every open dossier of the province (and a replay every dossier
it has met). As a live `DossierHistory` — state, candidate alerts, parsed
events — a dossier costs about 2.3 KB; its events and fired alerts pickled,
about 300 B. A history is a function of its events (`DossierHistory.from_events`
refolds them; the restore from ClickHouse relies on the same rule), so the
processor keeps its most recently used dossiers live and the others here, and
thaws one on its next event or timer. Pickles never leave the process.
"""

from __future__ import annotations

import pickle
from typing import KeysView

from .domain.dossier import Rules
from .domain.history import DossierHistory


class ColdHistories:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self.thawed = 0  # diagnostics: how often a dossier at rest was needed again

    def __contains__(self, dossier_id: object) -> bool:
        return dossier_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def keys(self) -> KeysView[str]:
        return self._blobs.keys()

    def freeze(self, h: DossierHistory) -> None:
        if h.pending:
            raise ValueError(f"{h.dossier_id}: a dossier holding events back stays live")
        self._blobs[h.dossier_id] = pickle.dumps((h.events, h.fired), protocol=pickle.HIGHEST_PROTOCOL)

    def thaw(self, dossier_id: str, rules: Rules) -> DossierHistory | None:
        """Take the dossier out (None if it is not here)."""
        blob = self._blobs.pop(dossier_id, None)
        if blob is None:
            return None
        self.thawed += 1
        return _rebuild(dossier_id, blob, rules)

    def peek(self, dossier_id: str, rules: Rules) -> DossierHistory | None:
        """A rebuilt copy; the dossier stays at rest."""
        blob = self._blobs.get(dossier_id)
        return None if blob is None else _rebuild(dossier_id, blob, rules)


def _rebuild(dossier_id: str, blob: bytes, rules: Rules) -> DossierHistory:
    events, fired = pickle.loads(blob)  # noqa: S301 - written by freeze() in this process
    h = DossierHistory.from_events(dossier_id, events, rules)
    h.fired = fired
    return h
