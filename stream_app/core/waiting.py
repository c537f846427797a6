"""The waiting room: events not possible at their place yet, waiting out the lateness window.

An event for a dossier never received, or impossible where it falls in its
dossier's life (a payment before its `sent_to_tax`), may be made possible by a
late event still on its way. So it waits here with the dead letter it would
become, and its dossier keeps it aside (`DossierHistory.waiting`) to try it again
on every refold. It leaves as soon as a refold applies it, or, once its
partition's watermark passes it, as that dead letter. Nothing here decides what
is possible; it only remembers who waits since when.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.events import DossierEvent
from stream_app.schemas.parse import DeadLetter


class WaitingRoom:
    def __init__(self) -> None:
        self._by_dossier: dict[str, list[tuple[DossierEvent, DeadLetter]]] = {}

    def __contains__(self, dossier_id: object) -> bool:
        return dossier_id in self._by_dossier

    def __len__(self) -> int:
        return len(self._by_dossier)

    def hold(self, ev: DossierEvent, dead_letter: DeadLetter) -> None:
        self._by_dossier.setdefault(ev.dossier_id, []).append((ev, dead_letter))

    def release(self, dossier_id: str, applied: set[str]) -> list[DossierEvent]:
        """The dossier's waiting events that a refold has now applied (ids in `applied`);
        they leave the room."""
        held = self._by_dossier.get(dossier_id)
        if not held:
            return []
        out = [ev for ev, _ in held if ev.event_id in applied]
        if out:
            rest = [w for w in held if w[0].event_id not in applied]
            if rest:
                self._by_dossier[dossier_id] = rest
            else:
                del self._by_dossier[dossier_id]
        return out

    def expire(self, dossier_id: str, mark: datetime) -> list[tuple[DossierEvent, DeadLetter]]:
        """The dossier's events whose window has passed (`occurred_at` at or before `mark`);
        they leave the room, the later ones stay."""
        held = self._by_dossier.pop(dossier_id, None)
        if not held:
            return []
        expired = [w for w in held if w[0].occurred_at <= mark]
        keep = [w for w in held if w[0].occurred_at > mark]
        if keep:
            self._by_dossier[dossier_id] = keep
        return expired

    def dossiers(self) -> list[str]:
        return sorted(self._by_dossier)

    def sources(self) -> set[str]:
        """Where the waiting records came from (a replay must not count them as done)."""
        return {dl.source for held in self._by_dossier.values() for _, dl in held}
