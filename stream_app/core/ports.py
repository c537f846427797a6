"""What the core needs from the outside world, as protocols the adapters implement.

The processor reads dossiers back through a `Restorer` (the store) and places
them by a `Partitioner` (Kafka's default partitioner); the pipeline writes a
batch through a `BatchStore`, sends it on through a `Publisher` (Kafka topics)
and hands alert messages to a `Notifier` (webhooks), whose `Delivery` rows the
store keeps in its outbox. None of these names Faust, Kafka or ClickHouse: the
adapters in `store/`, `kafka/` and `notify/` do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence

from stream_app.core.output import Output
from stream_app.domain.alerts import AlertSpec
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import FiredAlert
from stream_app.schemas.parse import DeadLetter

# Dossiers read back from the store: their events and the alerts already emitted.
Restored = dict[str, tuple[list[DossierEvent], list[tuple[AlertSpec, FiredAlert]]]]
# The partition Kafka puts a dossier's events in.
Partitioner = Callable[[str], int]


class StoreUnavailable(Exception):
    """A store call failed for a reason that passes (connection refused or reset, a
    timeout, the server's overload or lock codes): retry it. Any other error is a fault
    to stop on (a wrong column, a type error): it is never retried."""


class Restorer(Protocol):
    """Reads durable state back (the store is the durable truth)."""

    def dossiers(self, dossier_ids: list[str]) -> Restored:
        """The events and emitted alerts of those of these dossiers the store knows."""
        ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert message for one endpoint, with the exact body that is signed and posted."""

    delivery_id: str
    endpoint: str
    alert_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    ok: bool
    attempts: int


class BatchStore(Protocol):
    """Where a batch's output goes before anything is acknowledged. Blocking calls:
    the pipeline runs them in its one executor thread."""

    pending: int  # rows staged and not yet written

    def stage(self, output: Output, watermark: datetime | None, deliveries: Sequence[Delivery]) -> None:
        """Buffer the batch's rows (no I/O); `watermark` is the stream progress to record."""
        ...

    def flush(self) -> None:
        """Write everything staged, in the commit order, or raise and keep it staged
        (`StoreUnavailable` when a retry may succeed)."""
        ...

    def undelivered(self, deliveries: Sequence[Delivery]) -> list[Delivery]: ...

    def mark(self, outcomes: Sequence[Outcome]) -> None: ...

    def pending_deliveries(self) -> list[Delivery]: ...


class Publisher(Protocol):
    """Sends alert messages and dead letters on (the Kafka topics)."""

    async def publish(self, alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]) -> None: ...


class Notifier(Protocol):
    """Posts alert messages to people's systems (webhooks)."""

    def deliveries(self, messages: Sequence[dict[str, Any]]) -> list[Delivery]: ...

    async def post(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...
