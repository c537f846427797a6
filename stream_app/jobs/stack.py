"""What a streaming job holds open, built once, each collaborator passed to the next.

`Stack` is the wiring of `run`, `worker` and the in-process `replay`, in the
order an event meets them: the topics exist; the store is migrated; the rules
and the directory are read; the processor is built with the store's `Restorer`
and takes back every active dossier (open, or still owing an alert); the Faust
app is built, and with it the Kafka publisher; the pipeline gets the processor,
the store's batch writer, the publisher and the webhook notifier; the agent is
registered on the app with the pipeline's `handle`; the live page, when enabled,
reads the store through the pipeline's executor, behind the guard built first
from the user file (it refuses to answer beyond loopback with nobody to sign in); with
`DOSSIER_SYNC_ENABLED`, the `dossier.sync` agent and `POST /sync` convert the portal's
sync records through the same executor (`jobs.sync_live`). Nothing is patched in after
construction. `stop()` closes it all in reverse order, bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any, Callable, Iterator, Mapping

import structlog

from stream_app.clock import Clock, utc_now
from stream_app.core.pipeline import AlertCallback, Pipeline
from stream_app.core.processor import Processor
from stream_app.access.users import UserFile
from stream_app.domain.directory import Directory
from stream_app.jobs.rules import load_directory, load_rules
from stream_app.jobs.sync_live import LiveSync, make_converter
from stream_app.kafka.admin import ensure_topics, wait_for_broker
from stream_app.kafka.agent import register as register_agent
from stream_app.kafka.app import build_app
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.kafka.producer import partitioner
from stream_app.kafka.publisher import KafkaPublisher
from stream_app.kafka.sync_topic import SYNC_PARTITIONS, register_sync_agent, send
from stream_app.notify.letters import Letters
from stream_app.notify.mail import MailNotifier, SmtpClient, SmtpServer
from stream_app.notify.recipients import Recipients
from stream_app.notify.webhooks import WebhookNotifier
from stream_app.process import tune_collector
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.migrate import migrate
from stream_app.store.outbox import Outbox
from stream_app.store.restore import Restorer
from stream_app.store.rows import TABLE_COLUMNS
from stream_app.store.writer import BatchWriter, ClickHouseSink
from stream_app.sync.endpoint import register_endpoint
from stream_app.web.guard import Guard
from stream_app.web.serving import build_guard, check_protected
from stream_app.web.views import LiveData, register_views

log = structlog.get_logger(__name__)


@contextlib.contextmanager
def kafka_bootstrap(settings: Settings) -> Iterator[str]:
    """The bootstrap servers: the configured cluster, or an embedded broker for the duration."""
    if settings.broker:
        wait_for_broker(settings.broker, timeout_s=settings.broker_wait_s)
        yield settings.broker
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


def owned_partitions(app: Any, topic: str) -> list[int]:
    """The partitions of `topic` this worker's consumer holds now."""
    return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topic)


def alert_channels(settings: Settings, directory: Directory, *, live: bool) -> list[Any]:
    """Webhooks when URLs are set; e-mail for the live worker when an SMTP server is set
    (a replay is history: its alerts go to the table, the topic and the webhooks)."""
    out: list[Any] = []
    if settings.webhook_urls:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        webhooks = WebhookNotifier(settings.webhook_urls, secret)
        if webhooks.legacy:
            log.warning("webhook.legacy_secret", hint="DOSSIER_WEBHOOK_SECRET is not in the whsec_<base64> form: its "
                        "UTF-8 bytes are the key and X-Dossier-Signature is sent too; see docs/alerts.md")
        out.append(webhooks)
    if live and settings.mail_enabled:
        recipients = Recipients.load(settings.mail_recipients)
        if not recipients:
            raise ValueError("DOSSIER_SMTP_HOST is set but DOSSIER_MAIL_RECIPIENTS names nobody: "
                             "give a recipients file (docs/alerts.md)")
        server = SmtpServer(settings.smtp_host or "", settings.smtp_port_in_use, settings.smtp_security,
                            settings.smtp_username, settings.smtp_password, settings.smtp_timeout_s,
                            settings.smtp_cafile)
        out.append(MailNotifier(SmtpClient(server), recipients,
                                Letters(directory, settings.public_url, settings.smtp_from),
                                batch_s=settings.mail_batch_s))
    return out


class Stack:
    """Everything one job holds open; closed in reverse order."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        *,
        now: Clock = utc_now,
        live: bool = False,
        on_alert: AlertCallback | None = None,
        labels: Mapping[tuple[int, int], str] | None = None,
        shared: bool = False,
    ) -> None:
        """`live`: the worker (wall-clock timers, sync records, e-mail). `shared`: one of the
        worker processes of `run --workers N`. Both share the partitions with others and
        follow what the group assigns them."""
        self.bootstrap = bootstrap
        # The live worker alone takes sync envelopes (run, sync --file and replay never serve POST /sync).
        sync_live = live and settings.sync_enabled
        if sync_live and settings.sync_secret is None:
            raise ValueError("DOSSIER_SYNC_ENABLED needs DOSSIER_SYNC_SECRET: the secret a sync sender must give")
        if settings.sync_enabled and not live:
            settings = settings.model_copy(update={"sync_enabled": False})
        self.settings = settings
        # --- access (issue 18): checked before anything is opened ---------------
        self.guard: Guard | None = None
        if settings.web_enabled:
            users = UserFile(settings.users)
            check_protected(settings.web_bind, users, str(settings.users))
            self.guard = build_guard(settings, users, machine_routes=("/sync",) if sync_live else ())
        ensure_topics(bootstrap, settings, {settings.sync_topic: SYNC_PARTITIONS} if sync_live else None)
        self.client = connect(settings.clickhouse.get_secret_value())
        migrate(self.client, settings.database)
        self.rules = load_rules(settings)
        self.directory = load_directory(self.rules, settings)
        restorer = self.restorer = Restorer(self.client, settings.database)
        t0 = time.perf_counter()
        self.processor = Processor(
            self.rules, self.directory, partitions=settings.partitions, lateness=settings.allowed_lateness,
            now=now, partitioner=partitioner(settings.partitions), restorer=restorer,
            watermark=restorer.watermark(), hot_limit=settings.hot_dossiers, labels=labels,
            set_aside=restorer.set_aside(),
        )
        self.processor.restore(restorer.dossiers(restorer.active_ids()))
        log.info("state.restored", dossiers=self.processor.stats["restored"],
                 duration_ms=round((time.perf_counter() - t0) * 1000))
        tune_collector()
        self.app = build_app(settings, bootstrap,
                             web_middlewares=[self.guard.middleware] if self.guard is not None else [])
        owned: Callable[[], list[int]] | None = None
        self.taking_over: set[int] = set()  # gained partitions whose dossiers are being restored
        if live or shared:
            def owned() -> list[int]:
                return owned_partitions(self.app, settings.events_topic)
        # The channels alert messages leave by, each through the outbox (issue 22).
        publisher = KafkaPublisher(self.app, alerts_topic=settings.alerts_topic, dlq_topic=settings.dlq_topic)
        channels: list[Any] = [publisher, *alert_channels(settings, self.directory, live=live)]
        self.mail = next((c for c in channels if isinstance(c, MailNotifier)), None)
        self.pipeline = Pipeline(
            self.processor,
            BatchWriter(ClickHouseSink(self.client, settings.database, TABLE_COLUMNS),
                        Outbox(self.client, settings.database)),
            publisher,
            channels=channels,
            catch_up=timedelta(seconds=settings.catch_up_after_s) if live else None,
            on_alert=on_alert,
            owned=owned,
        )
        register_agent(self.app, settings, self.pipeline.handle, live=live)
        if live or shared:
            self._follow_assignment()
        if self.guard is not None:
            register_views(self.app, LiveData(self.read, self.rules, self.directory), self.guard)
        # --- sync records (issue 21): the dossier.sync agent and POST /sync, by their own shared secret
        self.sync: LiveSync | None = None
        if sync_live and settings.sync_secret is not None:
            converter, seen = make_converter(settings, self.client, self.directory)
            app, events_topic = self.app, settings.events_topic

            async def send_events(records: list[tuple[bytes, bytes]]) -> None:
                await send(app, events_topic, records)

            async def publish_envelopes(records: list[tuple[bytes, bytes]]) -> None:
                await send(app, settings.sync_topic, records)

            self.sync = LiveSync(converter, seen, self.pipeline, send_events, now=now)
            register_sync_agent(self.app, settings, self.sync.handle)
            register_endpoint(self.app, settings.sync_secret.get_secret_value().encode(), converter.ctx.mapping,
                              publish_envelopes)

    def _follow_assignment(self) -> None:
        """A worker sharing the partitions follows what the group gives it: the dossiers of a
        partition it takes over (from a worker that stopped or died) are restored from the
        store, so their timers fire here; those of a partition it lost are forgotten."""
        topic = self.settings.events_topic
        owned = set(range(self.settings.partitions))  # the start restored the dossiers of all
        pending: set[asyncio.Task[None]] = set()

        def later(job: Any) -> None:
            task = asyncio.ensure_future(job)
            pending.add(task)
            task.add_done_callback(pending.discard)

        async def take_over(gained: list[int]) -> None:
            try:
                await self.pipeline.take_over(gained, self._restore_partitions)
            finally:
                self.taking_over.difference_update(gained)

        @self.app.on_partitions_assigned.connect
        async def on_assigned(_app: Any, assigned: Any, **_: Any) -> None:
            nonlocal owned
            now = {tp.partition for tp in assigned if tp.topic == topic}
            gained, lost = sorted(now - owned), sorted(owned - now)
            owned = now
            log.info("worker.assignment", partitions=sorted(now), gained=gained, lost=lost)
            # Not inside the rebalance: a restore can take seconds, the group waits for nobody.
            if lost:
                later(self.pipeline.let_go(lost))
            if gained:
                self.taking_over.update(gained)
                later(take_over(gained))

    def _restore_partitions(self, partitions: list[int]) -> None:
        """In the pipeline's executor: the active dossiers of these partitions not held here."""
        wanted, held = set(partitions), self.processor.dossier_ids()
        ids = [d for d in self.restorer.active_ids()
               if d not in held and self.processor.partition_of(d) in wanted]
        if ids:
            self.processor.restore(self.restorer.dossiers(ids))
        log.info("worker.took_over", partitions=partitions, dossiers=len(ids))

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A blocking store query `fn(client, database, *args)` in the pipeline's executor."""
        return await self.pipeline.call(fn, self.client, self.settings.database, *args)

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        # Bounded: with the broker gone, Faust's stop can wait forever (on a consumer
        # thread that already died); give it stop_timeout_s, then leave it behind.
        # Not wait_for: that waits for the cancellation, which never completes either.
        stopping = asyncio.ensure_future(self.app.stop())
        done, _ = await asyncio.wait({stopping}, timeout=self.settings.stop_timeout_s)
        if not done:
            stopping.cancel()
            log.warning("worker.stop_timeout", timeout_s=self.settings.stop_timeout_s)
        elif stopping.exception() is not None:
            log.warning("worker.stop_failed", error=type(stopping.exception()).__name__)
        if self.pipeline.failure is None:
            await self.pipeline.settle()  # the alerts topic's last marks
        self.pipeline.close()
        self.client.close()
