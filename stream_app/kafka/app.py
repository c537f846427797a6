"""Build the Faust app from the settings object — nothing else lives here.

Group timeouts are tuned for a fast start and a quick take-over after a
crash (docs/platform.md: session 6 s / heartbeat 2 s gives a ~5 s cold start on
the embedded broker instead of ~30 s). At-least-once processing: effects are
idempotent (deterministic ids, ReplacingMergeTree), which holds on any broker.
"""

from __future__ import annotations

from typing import Any, Sequence

import faust

from stream_app.kafka.transport import SCHEME
from stream_app.kafka.transport import register as register_transport
from stream_app.kafka.security import faust_credentials
from stream_app.settings import Settings


def build_app(settings: Settings, bootstrap: str, *, web_middlewares: Sequence[Any] = ()) -> faust.App:
    register_transport()
    credentials = faust_credentials(settings)
    kwargs = {} if credentials is None else {"broker_credentials": credentials}
    return faust.App(
        settings.app_id,
        broker=";".join(f"{SCHEME}://{hp.strip()}" for hp in bootstrap.split(",")),
        store="memory://",
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_max_poll_interval=30.0,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=settings.batch_size,
        producer_linger_ms=5,
        web_enabled=settings.web_enabled or settings.sync_enabled,  # POST /sync is served there too
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_application_options={"middlewares": list(web_middlewares)},
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        topic_allow_declare=True,
        topic_disable_leader=True,
        processing_guarantee="at_least_once",
        Monitor="stream_app.kafka.monitor:LeanMonitor",
        **kwargs,
    )

