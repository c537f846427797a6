"""ClickHouse, the durable truth: the client factory (`client`), the tables' migrations
and the views (`migrate`, `migrations/`, `views.sql`), the column lists and rows
(`rows`), the batch writer with its commit order (`writer`), the restore of dossiers
at start and on demand (`restore`) and the outbox of alert deliveries (`outbox`). The
same code serves the embedded engine (chDB) and a server. May import: `core` (its ports
and output), `schemas`, `domain`.
"""
