"""Talking to a broker as an administrator: topics, and whether it answers at all.

`ensure_topics` creates the product's topics with the partition count from
settings, on any broker. `wait_for_broker` fails fast at start;
`watch_broker` / `while_broker_answers` bound how long a running job waits for a
broker that went away: after `give_up_s` without an answer the job is cancelled
and `BrokerUnavailable` raised, so it stops with a clear message instead of
retrying forever (the Kafka clients themselves reconnect without end).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Awaitable, TypeVar

import structlog

from stream_app.kafka.security import client_config
from stream_app.logs import scrub
from stream_app.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached; the message says where and what to check."""


def _hostports(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for hostport in bootstrap.split(","):
        host, _, port = hostport.strip().rpartition(":")
        out.append((host or "127.0.0.1", int(port)))
    return out


def wait_for_broker(bootstrap: str, timeout_s: float = 15.0) -> None:
    """Fail fast with a clear message when no broker answers (instead of hanging).

    Any one of the bootstrap servers answering is enough; each is tried in turn
    until the deadline.
    """
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    servers = _hostports(bootstrap)
    while True:
        for host, port in servers:
            try:
                socket.create_connection((host, port), timeout=1.0).close()
                return
            except OSError as exc:
                last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    raise BrokerUnavailable(
        f"no Kafka broker answers at {bootstrap} after {timeout_s:.0f}s ({last}); check DOSSIER_BROKER"
    )


async def _answers(servers: list[tuple[str, int]], timeout_s: float) -> bool:
    for host, port in servers:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
            # that lands as the connection completes, and the watch would then outlive its job.
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(host, port)
        except (OSError, asyncio.TimeoutError):
            continue
        writer.close()
        return True
    return False


async def watch_broker(bootstrap: str, *, give_up_s: float = 30.0, interval_s: float = 1.0) -> None:
    """Never returns while the broker answers; raises `BrokerUnavailable` once it has not
    answered for `give_up_s`. Logs the loss once and a recovery once."""
    servers = _hostports(bootstrap)
    lost_since: float | None = None
    while True:
        if await _answers(servers, timeout_s=min(interval_s, 2.0)):
            if lost_since is not None:
                log.warning("broker.reconnected", bootstrap=bootstrap, outage_s=round(time.monotonic() - lost_since, 1))
                lost_since = None
        elif lost_since is None:
            lost_since = time.monotonic()
            log.error("broker.unreachable", bootstrap=bootstrap, give_up_s=give_up_s)
        elif time.monotonic() - lost_since >= give_up_s:
            raise BrokerUnavailable(
                f"the Kafka broker at {bootstrap} has not answered for {give_up_s:.0f}s; stopping. "
                "Everything acknowledged is in ClickHouse; start again when the broker is back"
            )
        await asyncio.sleep(interval_s)


def ensure_topics(bootstrap: str, settings: Settings, also: dict[str, int] | None = None) -> None:
    """Create the product's topics (idempotent: an existing topic is fine), and `also`
    these, each with its own partition count (the sync topic has one).

    A broker that answers but cannot be talked to (wrong security protocol or SASL
    settings, not Kafka at all) is a `BrokerUnavailable` naming the settings to check.
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossier-stream-admin",
                                 **client_config(settings))
    except KafkaError as exc:
        error = f"{type(exc).__name__}: {scrub(str(exc))[:200]}"
    else:
        error = None
    if error is not None:  # raised outside the handler: the client's exception is not chained
        raise BrokerUnavailable(
            f"cannot talk to the Kafka broker at {bootstrap} (security_protocol={settings.security_protocol}, "
            f"sasl_mechanism={settings.sasl_mechanism or 'none'}): {error}; "
            "check DOSSIER_BROKER, DOSSIER_SECURITY_PROTOCOL and DOSSIER_SASL_*"
        )
    try:
        existing = set(admin.list_topics())
        counts = {name: settings.partitions for name in (settings.events_topic, settings.dlq_topic,
                                                          settings.alerts_topic)}
        counts.update(also or {})
        wanted = [NewTopic(name, n, 1) for name, n in counts.items() if name not in existing]
        for topic in wanted:
            try:
                admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
        if wanted:
            log.info("broker.topics.created", topics=[t.name for t in wanted],
                     partitions=[t.num_partitions for t in wanted])
    finally:
        admin.close()


async def while_broker_answers(work: Awaitable[T], bootstrap: str, *, give_up_s: float = 30.0,
                               interval_s: float = 1.0) -> T:
    """Await `work`; if the broker stops answering for `give_up_s` first, cancel the work
    and raise `BrokerUnavailable` (the caller's `finally` closes what it holds).

    Cancelling is safe at any point: nothing is acknowledged before ClickHouse has it,
    and a webhook not yet posted stays pending in the outbox.
    """
    watch = asyncio.ensure_future(watch_broker(bootstrap, give_up_s=give_up_s, interval_s=interval_s))
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({watch, task}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return watch.result()  # raises BrokerUnavailable
    finally:
        for t in (watch, task):
            t.cancel()
        await asyncio.gather(watch, task, return_exceptions=True)
