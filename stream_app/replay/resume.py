"""Resuming an interrupted replay: a small checkpoint file and the ledger behind it.

A checkpoint is one JSON file under `var/replay/` (by default), named after
the source and a hash of everything that decides which records a replay sends
and where they go: the source, `--since`/`--until`/`--unit`, and the target
(broker and topic, or for the embedded pipeline the ClickHouse store and
database). It records `position`, the last record of an unbroken run from the
start that is safely done (file line, Parquet row, or the store cursor), so a
resumed replay sends only what follows. "Done" means acknowledged by the
broker for a real cluster, and processed and written to ClickHouse for the
embedded pipeline (whose broker forgets everything when it stops). The file is
replaced atomically (write, fsync, rename), so a crash leaves the old or the
new checkpoint, never half of one. A resent tail is harmless: the worker
ignores a repeated `event_id`.

`Ledger` keeps the records sent but not yet done, in send order; `advance`
moves the position over the leading ones that are done. Records complete out
of order across partitions, so only the unbroken prefix counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import structlog

from stream_app.clock import utc_now

log = structlog.get_logger(__name__)


def checkpoint_key(**parts: Any) -> str:
    """A short stable hash of what identifies one replay."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class Checkpoint:
    path: Path
    source: str
    fingerprint: str = ""  # the file's size and mtime: a changed file starts over
    position: Any = None  # None: nothing done yet
    done: int = 0  # records done, for progress and the summary
    complete: bool = False
    updated_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path, name: str, key: str, *, source: str, fingerprint: str, resume: bool) -> "Checkpoint":
        """The checkpoint of this replay: the saved one when resuming and still valid, else a fresh one."""
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
        path = directory / f"{stem}-{key}.json"
        fresh = cls(path=path, source=source, fingerprint=fingerprint)
        if not resume or not path.exists():
            return fresh
        try:
            data = json.loads(path.read_text("utf-8"))
            saved = cls(path=path, **{k: v for k, v in data.items() if k != "path"})
        except (OSError, ValueError, TypeError) as exc:
            log.warning("replay.checkpoint.unreadable", path=str(path), error=type(exc).__name__)
            return fresh
        if saved.fingerprint != fingerprint:
            log.warning("replay.checkpoint.source_changed", path=str(path),
                        detail="the source changed since the checkpoint: starting from the beginning")
            return fresh
        return saved

    @property
    def resumed(self) -> bool:
        return self.position is not None

    def save(self) -> None:
        self.updated_at = utc_now().isoformat(timespec="seconds")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


@dataclass(slots=True)
class Sent:
    """One record handed to the producer."""

    position: Any
    label: str  # "file:line" — how a dead letter names it
    future: Any  # kafka-python FutureRecordMetadata


class Ledger:
    """Records sent and not yet done, in send order; thread-safe."""

    def __init__(self) -> None:
        self._sent: deque[Sent] = deque()
        self._lock = threading.Lock()

    def add(self, sent: Sent) -> None:
        with self._lock:
            self._sent.append(sent)

    def __len__(self) -> int:
        return len(self._sent)

    def pending(self) -> list[Sent]:
        with self._lock:
            return list(self._sent)

    def advance(self, done: Callable[[Sent], bool]) -> tuple[Any, int] | None:
        """Drop the leading records that are done: (last position, how many), or None."""
        n, last = 0, None
        with self._lock:
            while self._sent and done(self._sent[0]):
                last = self._sent.popleft().position
                n += 1
        return (last, n) if n else None


def acknowledged(sent: Sent) -> bool:
    """Done for a real cluster: the broker acknowledged it (a failed send raises)."""
    f = sent.future
    if not f.is_done:
        return False
    if f.failed():
        raise f.exception
    return True
