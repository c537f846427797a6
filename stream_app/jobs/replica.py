"""One worker process of `run --workers N` (`python -m stream_app.jobs.replica`).

Started by `jobs.fleet`, never by a user. It reads its orders as JSON lines on stdin
and answers on stdout (everything else it prints, its logs included, goes to stderr):

    in   {"settings": {...}, "bootstrap": "host:port", "labels": "/folder", "index": 1}
    out  {"ready": true, "pid": 1234}
    out  {"owned": [0, 2], "positions": {"0": 51000}, "processed": 51000}   (every 0.2 s)
    in   {"finish": "2024-01-31T10:00:00+07:00", "dead_letters": [...]}
    out  {"done": true, "stats": {...}}

It is the same `Stack` as `run` (`shared=True`): it consumes its share of the events
topic in the run's consumer group, restores the dossiers of a partition the group gives
it when another worker process dies, and at `finish` fires the timers of the partitions
it owns up to `--as-of`. A partition's position is reported only once what it took over
is restored. The end of stdin (its parent gone) stops it; it also dies with its parent.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
import structlog

from stream_app import logs
from stream_app.jobs.stack import Stack, owned_partitions
from stream_app.jobs.until import until
from stream_app.kafka.admin import BrokerUnavailable, while_broker_answers
from stream_app.kafka.labels import LabelFiles
from stream_app.process import die_with_parent
from stream_app.schemas.parse import DeadLetter
from stream_app.settings import Settings

log = structlog.get_logger(__name__)

REPORT_EVERY_S = 0.2


def dead_letter_json(dl: DeadLetter) -> dict[str, Any]:
    return {"source": dl.source, "raw": base64.b64encode(dl.raw).decode(), "code": dl.error_code,
            "detail": dl.error_detail}


def dead_letter_of(d: dict[str, Any]) -> DeadLetter:
    return DeadLetter(d["source"], base64.b64decode(d["raw"]), d["code"], d["detail"])


class Orders:
    """Stdin as an asyncio stream of JSON orders; None when the parent is gone."""

    def __init__(self) -> None:
        self.reader = asyncio.StreamReader(limit=1 << 26)

    async def open(self) -> "Orders":
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self.reader), sys.stdin)
        return self

    async def next(self) -> dict[str, Any] | None:
        line = await self.reader.readline()
        return orjson.loads(line) if line.strip() else None


async def serve(settings: Settings, bootstrap: str, labels: Path, answer: IO[bytes]) -> None:
    def say(**message: Any) -> None:
        answer.write(orjson.dumps(message) + b"\n")
        answer.flush()

    stack = Stack(settings, bootstrap, labels=LabelFiles(labels), shared=True)
    orders = await Orders().open()
    reporter: asyncio.Future[None] | None = None
    try:
        await stack.start()
        say(ready=True, pid=os.getpid())
        topic = settings.events_topic

        async def report() -> None:
            while True:
                owned = owned_partitions(stack.app, topic)
                positions = {str(p): stack.pipeline.positions.get(p, 0) for p in owned
                             if p not in stack.taking_over}
                say(owned=owned, positions=positions, processed=stack.pipeline.processed)
                await asyncio.sleep(REPORT_EVERY_S)

        reporter = asyncio.ensure_future(report())

        async def work() -> None:
            waiting = asyncio.ensure_future(orders.next())
            await until(waiting.done, pipeline=stack.pipeline)
            order = waiting.result()
            if order is None:  # the run is gone
                return
            dead = [dead_letter_of(d) for d in order.get("dead_letters", [])]
            if dead:
                await stack.pipeline.add_dead_letters(dead)
            if order.get("finish"):
                owned = owned_partitions(stack.app, topic)
                await stack.pipeline.finish(datetime.fromisoformat(order["finish"]), owned)
            say(done=True, stats=dict(stack.processor.stats))

        await while_broker_answers(work(), bootstrap, give_up_s=settings.broker_give_up_s)
    finally:
        if reporter is not None:
            reporter.cancel()
        await stack.stop()


def main() -> int:
    die_with_parent()
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else prints goes with the logs
    config = orjson.loads(sys.stdin.buffer.readline())
    settings = Settings(**config["settings"])
    logs.configure(settings.log_format, settings.log_level)
    structlog.contextvars.bind_contextvars(worker_process=config["index"])
    # Not asyncio.run: after a crashed agent, Faust leaves tasks that never end (its
    # consumer waits for chunks nobody will acknowledge), and asyncio.run's clean-up would
    # wait for them for ever. On failure the process leaves without it.
    runner = asyncio.Runner()
    try:
        runner.run(serve(settings, config["bootstrap"], Path(config["labels"]), answer))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the run reports the exit; the message is here
        log.error("worker_process.failed", error=type(exc).__name__, detail=str(exc)[:500])
        code = 2 if isinstance(exc, (BrokerUnavailable, ConnectionError)) else 1
        sys.stderr.flush()
        os._exit(code)  # Faust cannot stop cleanly after a lost broker or a crashed agent
    runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
