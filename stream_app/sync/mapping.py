"""The deployment's reading of the sync records: status codes, the ambiguous cases, times.

The shipped `data/dvcqg.toml` maps the national codes 1–10 of `TrangThaiHoSo`; a
deployment whose local codes differ, or that reads status 8 or a 9 without an end time
differently, copies it and points `DOSSIER_SYNC_MAPPING` at its copy: each section it
gives replaces the shipped one's keys, the others stay. A file that names an unknown
meaning or choice is refused at start with the line to fix, never half-read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

Meaning = Literal["submitted", "received", "refused", "in_process", "supplement", "tax", "withdrawn",
                  "stopped", "processed", "returned"]
MEANINGS: tuple[str, ...] = Meaning.__args__  # type: ignore[attr-defined]
STOPPED = ("rejected", "paused", "ignored")
PROCESSED_WITHOUT_END = ("evidence", "concluded")


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Mapping:
    statuses: dict[str, str]
    stopped: str = "rejected"
    processed_without_end: str = "evidence"
    outcome_field: str = "KetQuaXuLy"
    rejected_values: frozenset[str] = field(default_factory=frozenset)
    utc: bool = False
    utc_units: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def load(cls, path: Path | None = None) -> "Mapping":
        shipped = tomllib.loads((files("stream_app") / "data" / "dvcqg.toml").read_text("utf-8"))
        if path is None:
            return cls.from_toml(shipped, "the shipped mapping")
        if not path.is_file():
            raise FileNotFoundError(f"sync mapping not found: {path} (DOSSIER_SYNC_MAPPING)")
        try:
            given = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"sync mapping {path}: {exc}") from None
        merged = {name: {**shipped.get(name, {}), **given.get(name, {})} for name in {*shipped, *given}}
        return cls.from_toml(merged, str(path))

    @classmethod
    def from_toml(cls, doc: dict[str, Any], source: str) -> "Mapping":
        statuses = {str(code).strip(): str(meaning) for code, meaning in doc.get("status", {}).items()}
        for code, meaning in statuses.items():
            if meaning not in MEANINGS:
                raise ValueError(f"sync mapping {source}: status {code} = {meaning!r}; meanings: {', '.join(MEANINGS)}")
        choices, outcome, times = doc.get("choices", {}), doc.get("outcome", {}), doc.get("times", {})
        stopped = choices.get("stopped", "rejected")
        if stopped not in STOPPED:
            raise ValueError(f"sync mapping {source}: choices.stopped = {stopped!r}; one of {', '.join(STOPPED)}")
        nine = choices.get("processed_without_end", "evidence")
        if nine not in PROCESSED_WITHOUT_END:
            raise ValueError(f"sync mapping {source}: choices.processed_without_end = {nine!r}; "
                             f"one of {', '.join(PROCESSED_WITHOUT_END)}")
        return cls(statuses, stopped, nine, str(outcome.get("field", "KetQuaXuLy")),
                   frozenset(_key(str(v)) for v in outcome.get("rejected", [])),
                   bool(times.get("utc", False)), frozenset(str(u) for u in times.get("utc_units", [])))

    def meaning(self, code: str | None) -> str | None:
        """What a status code means here; None for a code the mapping lacks."""
        return None if code is None else self.statuses.get(code)

    def rejected(self, value: str | None) -> bool:
        return value is not None and _key(value) in self.rejected_values

    def sends_utc(self, unit: str | None) -> bool:
        return self.utc or (unit is not None and unit in self.utc_units)
