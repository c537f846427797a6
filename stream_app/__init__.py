"""dossier-stream: a real-time watch over land-registration dossiers.

The folders are the architecture, top to bottom; a module imports only from its own
room and the rooms below it (checked by `tests/test_architecture.py`):

- faces: `cli` (the console script), `demo` (the whole story), `console` (what a
  terminal shows);
- `jobs/`: the lifecycles — `run`, `worker`, `replay`, `rebuild`, `report` — each
  building its collaborators once (`jobs/stack.py`) and waiting with one primitive
  (`jobs/until.py`);
- adapters, side by side and independent: `kafka/` (broker, Faust app, agent,
  transport, producer, publisher), `notify/` (webhooks, e-mail), `web/` (the live page),
  `report/` (the monthly report), `replay/` (feeds: files, the store, pace, resume,
  the synthetic province);
- `store/`: ClickHouse — client, migrations and views, rows, the batch writer, the
  restore, the outbox;
- `core/`: the stream processor — records in, output out — with its event time and
  timers, waiting room, dossiers at rest, the commit pipeline and the ports the
  adapters implement;
- `schemas/`: the input's shape and its total parser;
- `domain/`: pure rules — calendar, catalog, the dossier state machine, alerts,
  causes, codes, messages;
- utilities anyone may use: `settings` (one frozen object), `logs`, `clock`.
"""
