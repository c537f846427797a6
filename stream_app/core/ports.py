"""What the core needs from the outside world, as protocols the adapters implement.

The processor reads dossiers back through a `Restorer` (the store) and places
them by a `Partitioner` (Kafka's default partitioner); the pipeline writes a
batch through a `BatchStore`, sends dead letters on through a `Publisher` (the
DLQ topic) and alert messages through `Channel`s (the alerts topic, webhooks,
e-mail), whose `Delivery` rows the store keeps in its outbox and which send them
in `Batch`es. None of these names Faust, Kafka or ClickHouse: the
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
    """One message for one endpoint of one channel, with the exact payload that is sent.

    `batch` is the send that carries it: the message alone (`batch == delivery_id`), a
    digest of several (its id assigned when the digest is formed), or "" while it waits
    to be put in a digest (a live worker's catch-up, a unit's e-mail of the minute)."""

    delivery_id: str
    endpoint: str
    alert_id: str
    body: bytes
    channel: str = "webhook"
    unit: str = ""
    fires_at: datetime | None = None
    batch: str = ""

    @property
    def send_id(self) -> str:
        return self.batch or self.delivery_id


@dataclass(frozen=True, slots=True)
class Batch:
    """What one send carries (one POST, one Kafka message, one e-mail): one delivery, or a
    digest of several of one endpoint. Its id is the Standard Webhooks `webhook-id`, the
    e-mail's Message-ID: the same id and content when a crash makes it repeat."""

    batch_id: str
    channel: str
    endpoint: str
    deliveries: tuple[Delivery, ...]

    @property
    def digest(self) -> bool:
        return not (len(self.deliveries) == 1 and self.deliveries[0].delivery_id == self.batch_id)


def batches(deliveries: Sequence[Delivery]) -> list[Batch]:
    """Deliveries grouped by the send that carries them, in the order they came."""
    groups: dict[tuple[str, str, str], list[Delivery]] = {}
    for d in deliveries:
        groups.setdefault((d.channel, d.endpoint, d.send_id), []).append(d)
    return [Batch(bid, ch, ep, tuple(ds)) for (ch, ep, bid), ds in groups.items()]


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

    def undelivered(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Those still merely pending (a message recomputed after a crash may have been sent)."""
        ...

    def mark(self, outcomes: Sequence[Outcome]) -> None: ...

    def mark_later(self, outcomes: Sequence[Outcome]) -> None:
        """Hold the marks (no I/O): written with the next outbox rows, or by `settle`."""
        ...

    def settle(self) -> None:
        """Write every mark still held (the end of a job)."""
        ...

    def pending_deliveries(self, channels: Sequence[str]) -> list[Delivery]:
        """What a stopped worker left unsent on these channels, in batches (never the
        deliveries still waiting for a digest: the live worker's dispatcher forms those)."""
        ...

    def claim(self, batches: Sequence[Batch]) -> list[Batch]:
        """Record waiting deliveries as sent in these digests (`sending`), before sending."""
        ...

    def waiting(self, channel: str) -> list[tuple[Delivery, datetime]]:
        """Deliveries waiting for a digest, with when each was enqueued."""
        ...

    def has(self, channel: str, delivery_id: str) -> bool: ...


class Publisher(Protocol):
    """Sends dead letters on (the DLQ topic); alerts go through a `Channel`."""

    async def publish(self, alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]) -> None: ...


class Channel(Protocol):
    """A way alert messages leave through the outbox: the alerts topic, webhooks, e-mail.

    `deliveries` names what each message owes (one per endpoint), `catch_up` true for
    alerts that came due long before they were emitted (the live worker's catch-up after
    downtime: they wait for a digest, batch ""); `send` sends whole batches and returns
    one outcome per delivery (never raises for a failed send: it is an outcome)."""

    name: str

    def deliveries(self, messages: Sequence[dict[str, Any]], *, catch_up: bool = False) -> list[Delivery]: ...

    async def send(self, batches: Sequence[Batch]) -> list[Outcome]: ...

