"""An existing store keeps what its webhooks still owed: migration 005 carries the rows of
`webhook_deliveries` into the `outbox`, and a starting worker sends the pending ones (issue 22)."""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pytest

from stream_app.store.client import connect
from stream_app.store.migrate import _statements, migrate
from stream_app.store.outbox import Outbox

pytestmark = pytest.mark.integration


def test_migration_005_carries_the_webhook_deliveries_over_with_their_status(tmp_path: Path):
    client = connect(f"chdb://{tmp_path / 'store'}")
    try:
        client.command("CREATE DATABASE dossier")
        client.command("CREATE TABLE dossier.schema_migrations (version UInt32, name String, applied_at DateTime "
                       "DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version")
        for name in ("001_core.sql", "003_webhooks.sql"):  # a store of the earlier release
            sql = resources.files("stream_app.store").joinpath("migrations", name).read_text(encoding="utf-8")
            for statement in _statements(sql):
                client.command(statement.replace("{db}", "dossier"))
            client.insert("dossier.schema_migrations", [[int(name[:3]), name]], column_names=["version", "name"])
        at = datetime(2024, 3, 15, tzinfo=timezone.utc)
        client.insert("dossier.webhook_deliveries", [
            ["a1", "ep1", "a1", '{"alert_id":"a1"}', "pending", 0, 1, at],
            ["a2", "ep1", "a2", '{"alert_id":"a2"}', "pending", 0, 1, at],
            ["a2", "ep1", "a2", '{"alert_id":"a2"}', "delivered", 1, 3, at],
        ], column_names=["delivery_id", "endpoint", "alert_id", "payload", "status", "attempts", "version",
                         "updated_at"])
        applied = migrate(client, "dossier")  # what the store lacks, from 005 on
        assert applied == sorted(applied) and applied[0] == "005_outbox.sql"
        pending = Outbox(client, "dossier").pending(["webhook"])
        assert [(d.delivery_id, d.endpoint, d.batch, d.body) for d in pending] == [
            ("a1", "ep1", "a1", b'{"alert_id":"a1"}')]
        assert client.query("SELECT delivery_id, status, version FROM dossier.outbox FINAL ORDER BY delivery_id"
                            ).result_rows == [("a1", "pending", 1), ("a2", "delivered", 4)]
        assert client.query("EXISTS TABLE dossier.webhook_deliveries").result_rows == [(0,)]
    finally:
        client.close()
