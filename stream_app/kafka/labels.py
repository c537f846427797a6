"""Where each fed record came from: (partition, offset) -> `file:line`.

A feed knows a record's partition and offset before it sends it (`kafka.feed`), so
the label a dead letter names it by is written down first: a worker that meets a
bad record always finds its line. In one process the labels are a dict
(`MemoryLabels`); worker processes read what the process feeding them writes to a
folder, one text file per partition (`LabelFiles`), flushed before each batch is
sent and read back only when a record becomes a dead letter. A record the labels
do not know keeps its Kafka name (`topic/partition/offset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Protocol


class LabelSink(Protocol):
    def put(self, partition: int, offset: int, label: str) -> None: ...

    def flush(self) -> None: ...


class MemoryLabels(dict[tuple[int, int], str]):
    """The labels of a feed in this process; the processor reads them as a mapping."""

    def put(self, partition: int, offset: int, label: str) -> None:
        self[(partition, offset)] = label

    def flush(self) -> None:
        pass


class LabelFiles:
    """The labels in a folder: written by the feeding process, read by the workers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._out: dict[int, IO[str]] = {}
        self._known: dict[tuple[int, int], str] = {}
        self._read_to: dict[int, int] = {}  # partition -> bytes of its file read so far

    def _path(self, partition: int) -> Path:
        return self.folder / f"{partition}.labels"

    # --- the feeding process
    def put(self, partition: int, offset: int, label: str) -> None:
        out = self._out.get(partition)
        if out is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            out = self._out[partition] = open(self._path(partition), "a", encoding="utf-8")
        out.write(f"{offset}\t{label}\n")

    def flush(self) -> None:
        for out in self._out.values():
            out.flush()

    def close(self) -> None:
        for out in self._out.values():
            out.close()
        self._out.clear()

    # --- a worker
    def __bool__(self) -> bool:
        return True

    def get(self, key: tuple[int, int], default: str | None = None) -> str | None:
        label = self._known.get(key)
        if label is None:
            self._read(key[0])
            label = self._known.get(key)
        return default if label is None else label

    def _read(self, partition: int) -> None:
        path = self._path(partition)
        if not path.exists():
            return
        with open(path, "rb") as f:
            f.seek(self._read_to.get(partition, 0))
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next look
        for line in data[:end].decode("utf-8").splitlines():
            offset, _, label = line.partition("\t")
            self._known[(partition, int(offset))] = label
        self._read_to[partition] = self._read_to.get(partition, 0) + end
