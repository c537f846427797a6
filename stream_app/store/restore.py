"""Reading durable state back from ClickHouse: the store is the durable truth.

At start, `run` and `worker` restore every active dossier (open, or still
owing an alert) from the `events` and `alerts` tables, and the stream's
watermark from `stream_progress`; while running, the processor asks for any
other dossier it meets that is not in memory (a late step of a dossier
finished in an earlier run). One mechanism for the embedded broker, which
keeps nothing, and for a real cluster. All SQL is parameterised.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
import structlog

from stream_app.core.ports import Restored
from stream_app.domain.alerts import AlertSpec
from stream_app.domain.codes import PROCESSING_ERROR
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import FiredAlert
from stream_app.store.client import check_identifier, in_chunks
from stream_app.store.rows import EVENT_COLUMNS, event_from_row

log = structlog.get_logger(__name__)

_EVENT_COLS = ", ".join(c for c in EVENT_COLUMNS if c != "ingested_at")
_ALERT_COLS = ("alert_id, kind, dossier_id, unit, receiving_unit, procedure_code, fires_at, emitted_at, due_at, "
               "retracted, version")


class Restorer:
    """The processor's `Restorer` on ClickHouse, plus what a job reads at start."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.db = check_identifier(database)
        self._has_history = False

    @property
    def has_history(self) -> bool:
        """Has anything been written yet? (Asked until it has: other workers write too.)"""
        if not self._has_history:
            self._has_history = self._scalar(f"SELECT count() > 0 FROM {self.db}.dossier_state") == 1
        return self._has_history

    def _scalar(self, sql: str, **params: Any) -> Any:
        rows = self.client.query(sql, parameters=params).result_rows
        return rows[0][0] if rows else None

    def watermark(self) -> datetime | None:
        if not self.has_history:
            return None
        return self._scalar(
            f"SELECT max(watermark) FROM {self.db}.stream_progress WHERE name = {{name:String}}",
            name="watermark",
        ) or None

    def set_aside(self) -> set[str]:
        """Dossiers a processing error set aside: those of the `processing_error` dead letters
        (their raw bytes are valid events), until a rebuild processes them again."""
        rows = self.client.query(
            f"SELECT raw FROM {self.db}.dead_letters FINAL WHERE error_code = {{code:String}}",
            parameters={"code": PROCESSING_ERROR},
        ).result_rows
        out = set()
        for (raw,) in rows:
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("dossier_id"), str):
                out.add(obj["dossier_id"])
        return out

    def active_ids(self) -> list[str]:
        if not self.has_history:
            return []
        rows = self.client.query(
            f"SELECT dossier_id FROM {self.db}.dossier_state FINAL WHERE active ORDER BY dossier_id"
        ).result_rows
        return [r[0] for r in rows]

    def dossiers(self, dossier_ids: list[str]) -> Restored:
        """Events and emitted alerts of these dossiers (those the store knows)."""
        if not self.has_history or not dossier_ids:
            return {}
        events: dict[str, list[DossierEvent]] = defaultdict(list)
        fired: dict[str, list[tuple[AlertSpec, FiredAlert]]] = defaultdict(list)
        for ids in in_chunks(dossier_ids, self.client):
            q = self.client.query(
                f"SELECT {_EVENT_COLS} FROM {self.db}.events FINAL WHERE dossier_id IN {{ids:Array(String)}}",
                parameters={"ids": ids},
            )
            names = q.column_names
            for row in q.result_rows:
                ev = event_from_row(dict(zip(names, row)))
                events[ev.dossier_id].append(ev)
            q = self.client.query(
                f"SELECT {_ALERT_COLS} FROM {self.db}.alerts FINAL WHERE dossier_id IN {{ids:Array(String)}}",
                parameters={"ids": ids},
            )
            for (aid, kind, did, unit, runit, proc, fires_at, emitted_at, due_at, retracted, version) in q.result_rows:
                spec = AlertSpec(aid, kind, did, fires_at, due_at, unit, proc, runit)
                fired[did].append((spec, FiredAlert(kind, fires_at, emitted_at, bool(retracted), spec, int(version))))
        return {d: (evs, fired.get(d, [])) for d, evs in events.items()}
