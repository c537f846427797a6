"""The store's schema: numbered migrations for tables, one file of views.

Tables live in `migrations/NNN_*.sql`, applied once each in order and recorded in
`schema_migrations`; an applied migration is never edited. Views hold no data, so
they live in one file, `views.sql`, re-created (`CREATE OR REPLACE VIEW`) by every
`migrate()`: a view changes by editing it there. (Migrations 002 and 004 of earlier
releases were views; they are recorded as applied in older stores and no longer
exist.) No statement may contain a semicolon except as its terminator.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import structlog

from stream_app.store.client import check_identifier

log = structlog.get_logger(__name__)


def migrate(client: Any, database: str) -> list[str]:
    """Apply the numbered migrations not applied yet, then (re-)create every view."""
    db = check_identifier(database)
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {r[0] for r in client.query(f"SELECT version FROM {db}.schema_migrations").result_rows}
    applied = []
    files = sorted(
        (f for f in resources.files("stream_app.store").joinpath("migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    for f in files:
        version = int(f.name.split("_", 1)[0])
        if version in done:
            continue
        for statement in _statements(f.read_text(encoding="utf-8")):
            client.command(statement.replace("{db}", db))
        client.insert(f"{db}.schema_migrations", [[version, f.name]], column_names=["version", "name"])
        applied.append(f.name)
        log.info("clickhouse.migrated", migration=f.name)
    views = resources.files("stream_app.store").joinpath("views.sql").read_text(encoding="utf-8")
    for statement in _statements(views):
        client.command(statement.replace("{db}", db))
    return applied


def _statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


