"""The `sync_dossiers` table (migration 006): what the sync converter has seen, per dossier.

Rows come ready from the converter (`sync.ingest.seen_row`, columns `SEEN_COLUMNS`
there); this module only reads the latest snapshot of given dossiers and inserts rows.
Blocking calls: a job runs them where it runs every store call (the pipeline's executor).
"""

from __future__ import annotations

from typing import Any, Sequence

from stream_app.store.client import check_identifier, in_chunks
from stream_app.store.writer import transient_as_unavailable


class SeenTable:
    def __init__(self, client: Any, database: str, columns: Sequence[str]) -> None:
        self.client = client
        self.db = check_identifier(database)
        self.columns = list(columns)

    def load(self, dossier_ids: list[str]) -> dict[str, bytes]:
        """The stored snapshot (JSON) of those of these dossiers the table has."""
        out: dict[str, bytes] = {}
        with transient_as_unavailable():
            for ids in in_chunks(dossier_ids, self.client):
                q = self.client.query(
                    f"SELECT dossier_id, snapshot FROM {self.db}.sync_dossiers FINAL WHERE dossier_id IN {{ids:Array(String)}}",
                    parameters={"ids": ids})
                out.update((d, s.encode() if isinstance(s, str) else s) for d, s in q.result_rows)
        return out

    def write(self, rows: list[list[Any]]) -> None:
        if rows:
            with transient_as_unavailable():
                self.client.insert(f"{self.db}.sync_dossiers", rows, column_names=self.columns)
