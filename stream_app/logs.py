"""Structured logging, configured once in the entry point.

JSON lines when stderr is not a terminal, coloured console otherwise. Stable
event names with key/value fields (`log.info("sink.flushed", rows=...)`).
Faust, mode and the Kafka clients are held at WARNING: their DEBUG records
cost time on every message and say nothing a user needs. Two safety nets
apply to every line, ours and the libraries': a password in a URL
(`scheme://user:password@host`, `password=...`) is masked, and a library
message that repeats (the Kafka clients log every reconnect attempt, ten a
second, while a broker is down) is shown once per `REPEAT_S` seconds. A terminal
shows what a person needs — warnings, errors, alerts, where the page is — and
leaves the plumbing (the broker started, migrations applied, Faust's services
starting) to the JSON logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

import structlog

NOISY = ("faust", "mode", "aiokafka", "kafka", "clickhouse_connect", "asyncio", "urllib3")
REPEAT_S = 60.0

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
_PARAM_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd|sasl_plain_password)\s*[=:]\s*['\"]?)[^\s&'\",;)]+",
                             re.IGNORECASE)


def scrub(text: str) -> str:
    """The text with every URL password and `password=` value replaced by ***."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _PARAM_PASSWORD.sub(r"\g<head>***", text)


def scrub_secrets(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `scrub` every string value of the event."""
    for k, v in event.items():
        if isinstance(v, str):
            event[k] = scrub(v)
        elif isinstance(v, BaseException):
            event[k] = scrub(repr(v))
    return event


class Repeats(logging.Filter):
    """Lets a library message through once per `every_s` seconds (by logger and template)."""

    def __init__(self, every_s: float = REPEAT_S) -> None:
        super().__init__()
        self.every_s = every_s
        self._seen: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._seen.get(key)
        if last is not None and now - last < self.every_s:
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = now
        return True


def _json(obj: Any, **kw: Any) -> str:
    """JSON lines with Vietnamese as it is written, not as \\u escapes."""
    return json.dumps(obj, ensure_ascii=False, **kw)


# Info lines a terminal leaves out at the default level (the JSON logs keep them).
PLUMBING = ("broker.embedded.", "broker.topics.", "clickhouse.migrated", "state.restored", "replay.produced")


def quiet_plumbing(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor for a terminal: drop our own info-level plumbing."""
    if event.get("level") == "info" and str(event.get("event", "")).startswith(PLUMBING):
        raise structlog.DropEvent
    return event


class _Warnings(logging.Filter):
    """A terminal shows the libraries' warnings and errors only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_json) if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    terminal = not use_json and lvl >= logging.INFO
    quiet: list[structlog.typing.Processor] = [quiet_plumbing] if terminal else []
    structlog.configure(
        processors=[*shared, *quiet, structlog.processors.format_exc_info, scrub_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Library loggers (stdlib) go through the same renderer, at WARNING.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, scrub_secrets, renderer],
        foreign_pre_chain=shared,
    ))
    handler.addFilter(Repeats())
    if terminal:
        handler.addFilter(_Warnings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING))
    # Disconnect chatter while the embedded broker stops is expected, not an error.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
