"""Structured logging, configured once in the entry point.

JSON lines when stderr is not a terminal, coloured console otherwise. Stable
event names with key/value fields (`log.info("sink.flushed", rows=...)`).
Faust, mode and the Kafka clients are held at WARNING: their DEBUG records
cost time on every message and say nothing a user needs.
"""

from __future__ import annotations

import logging
import sys

import structlog

NOISY = ("faust", "mode", "aiokafka", "kafka", "clickhouse_connect", "asyncio", "urllib3")


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Library loggers (stdlib) go through the same renderer, at WARNING.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processor=renderer, foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING))
    # Disconnect chatter while the embedded broker stops is expected, not an error.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
