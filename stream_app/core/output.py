"""What goes into the processor and what comes out of it.

A `Record` is one Kafka record (or one line of a replay file) as it arrived. An
`Output` is what one batch, tick or finish produced: the events applied, the dead
letters, the alerts emitted or retracted and the state of every dossier that changed.
It holds domain objects, not table rows: the store turns them into rows, the Kafka
publisher into messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stream_app.domain.alerts import AlertSpec
from stream_app.domain.events import DossierEvent
from stream_app.domain.snapshot import DossierSnapshot
from stream_app.schemas.parse import DeadLetter


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record (or file line) as it arrived."""

    raw: bytes
    key: bytes | None
    partition: int
    offset: int
    source: str  # "topic/partition/offset" or "file:line"


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert as emitted, or its retraction: one `alerts` row, one `dossier.alerts` message."""

    spec: AlertSpec
    message: str
    emitted_at: datetime
    retracted: bool
    # 1 emitted, 2 retracted, 3 emitted again (made real by a later event), ...: the row of
    # the highest version is the one that stands (ReplacingMergeTree).
    version: int = 1

    def as_json(self) -> dict[str, Any]:
        """The alert as the alerts topic and the webhooks carry it (docs/contract.md §2)."""
        a = self.spec
        return {
            "alert_id": a.alert_id, "kind": a.kind, "dossier_id": a.dossier_id, "unit": a.unit,
            "receiving_unit": a.receiving_unit, "procedure_code": a.procedure_code,
            "fires_at": _iso(a.fires_at), "emitted_at": _iso(self.emitted_at), "due_at": _iso(a.due_at),
            "message": self.message, "retracted": self.retracted, "version": self.version,
        }


def message_key(message: dict[str, Any]) -> str:
    """An alert message's key on every channel (the outbox's `delivery_id`, the webhook's
    `webhook-id`, the e-mail's digest ids are made of them): one per alert and per change of
    it — `<alert id>` when emitted, `<alert id>:retracted` when retracted, `<alert id>:v<n>`
    for its n-th change after that (emitted again once a later event made it real, …)."""
    version = int(message.get("version") or (2 if message.get("retracted") else 1))
    aid = str(message["alert_id"])
    return aid if version == 1 else f"{aid}:retracted" if version == 2 else f"{aid}:v{version}"


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="milliseconds")


@dataclass
class Output:
    """What one batch, tick or finish produced; `at` is the wall clock it was drained at."""

    events: list[DossierEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[AlertChange] = field(default_factory=list)
    states: list[DossierSnapshot] = field(default_factory=list)
    at: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.events or self.dead_letters or self.alerts or self.states)
