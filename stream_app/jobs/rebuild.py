"""`dossier-stream rebuild`: state, alerts and aggregates recomputed from the stored events.

After a rule, calendar or catalog change, the stored `events` history is fed
through the same pure `Processor` the worker uses (same parsing, same
per-partition event time and timers, then `finish` at the stream's current
watermark), with the rules now in force, into a fresh database
`<db>_rebuild_<n>` of the same store. No Kafka: the events are already valid
and deduplicated, the result is a function of them and the rules only, and the
processor alone runs tens of thousands of events a second where the Faust path
runs a few thousand after a start-up of seconds.

The rebuilt database gets: the events and dead letters copied as they are;
`dossier_state` and `alerts` as the processor writes them; `stream_progress`
at the same watermark. An alert already emitted under the old rules keeps its
`emitted_at`; one the new rules no longer call for is kept and marked
`retracted` (alerts are never deleted). Then the tables are switched with one
`EXCHANGE TABLES` statement: each pair swaps atomically and the views
(`dossier_facts`, `unit_daily`, `monthly_report`) read the new tables at once
by name; the old tables stay in `<db>_rebuild_<n>` until `--drop`. If events
arrived while rebuilding (a worker still running), nothing is switched.
What changed is computed in `jobs.rebuild_diff`.

The records a processing error set aside (`processing_error` dead letters) are fed
through again, each in its place in time among the stored events: after the fix they
become events and rows of the rebuilt database, and their dead letters are gone from
it; those that fail again are `processing_error` dead letters there too.
"""

from __future__ import annotations

import heapq
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

import orjson
import structlog

from stream_app.clock import utc_now
from stream_app.core.output import Output, Record
from stream_app.core.processor import Processor
from stream_app.domain.codes import PROCESSING_ERROR
from stream_app.jobs.rebuild_diff import Changes, diff
from stream_app.jobs.rules import load_directory, load_rules
from stream_app.kafka.producer import partitioner
from stream_app.replay.export import event_object, stored_events
from stream_app.settings import Settings
from stream_app.store.client import check_identifier, connect
from stream_app.store.migrate import migrate
from stream_app.store.rows import (
    ALERT_COLUMNS,
    STATE_COLUMNS,
    TABLE_COLUMNS,
    alert_row,
    dead_letter_row,
    event_row,
    state_row,
)

log = structlog.get_logger(__name__)

BATCH = 20_000  # per processor call; timers fire once per call, state rows are built once per call
_CARRIED = ("events", "dead_letters")  # copied as they are
_REBUILT = ("dossier_state", "alerts", "stream_progress")
_NOTE = "rebuild_note"  # what a rebuild database holds; never switched


class RebuildError(RuntimeError):
    """A rebuild that cannot switch safely; the message says why and what to do."""


@dataclass
class RebuildResult:
    database: str
    kept: str  # the database holding the previous tables (or the unswitched build)
    events: int = 0
    dossiers: int = 0
    refused: int = 0  # stored events the processor did not accept under the new rules
    set_aside: int = 0  # records a processing error still sets aside after the rebuild
    as_of: datetime | None = None
    switched: bool = False
    elapsed_s: float = 0.0
    changes: Changes = field(default_factory=Changes)

    @property
    def rate(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _stamp() -> str:
    return utc_now().isoformat(timespec="seconds")


def _scalar(client: Any, sql: str, **params: Any) -> Any:
    rows = client.query(sql, parameters=params).result_rows
    return rows[0][0] if rows else None


def rebuild_databases(client: Any, database: str) -> list[str]:
    db = check_identifier(database)
    names = [r[0] for r in client.query("SELECT name FROM system.databases").result_rows]
    pattern = re.compile(rf"^{re.escape(db)}_rebuild_(\d+)$")
    return sorted((n for n in names if pattern.match(n)), key=lambda n: int(pattern.match(n).group(1)))  # type: ignore[union-attr]


def _tables(client: Any, database: str) -> dict[str, str]:
    """Table name -> engine, views included."""
    rows = client.query("SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name",
                        parameters={"db": database}).result_rows
    return dict(rows)


def _base_tables(client: Any, database: str) -> list[str]:
    return [t for t, engine in _tables(client, database).items() if not engine.endswith("View") and t != _NOTE]


def _columns(client: Any, database: str, table: str) -> list[str]:
    rows = client.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        parameters={"db": database, "t": table},
    ).result_rows
    return [r[0] for r in rows]


def _note(client: Any, database: str, text: str) -> None:
    client.command(f"CREATE TABLE IF NOT EXISTS {database}.{_NOTE} (at DateTime64(3, 'UTC'), note String) "
                   "ENGINE = MergeTree ORDER BY at")
    client.insert(f"{database}.{_NOTE}", [[utc_now(), text]], column_names=["at", "note"])


def rebuild(
    settings: Settings, *, as_of: datetime | None = None, dry_run: bool = False,
    now: Callable[[], datetime] = utc_now, on_progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Recompute into a fresh database, report what changed, and switch (unless `dry_run`)."""
    t0 = time.perf_counter()
    client = connect(settings.clickhouse.get_secret_value())
    try:
        db = check_identifier(settings.database)
        migrate(client, db)
        taken = [int(n.rsplit("_", 1)[1]) for n in rebuild_databases(client, db)]
        new = f"{db}_rebuild_{max(taken, default=0) + 1}"
        result = RebuildResult(database=db, kept=new)
        total = int(_scalar(client, f"SELECT count() FROM {db}.events FINAL"))
        if total == 0:
            raise RebuildError(f"no stored events in {db}: nothing to rebuild")
        result.as_of = as_of or _scalar(
            client, f"SELECT maxOrNull(watermark) FROM {db}.stream_progress FINAL WHERE name = 'watermark'"
        ) or _scalar(client, f"SELECT maxOrNull(occurred_at) FROM {db}.events")
        migrate(client, new)
        try:
            _fill(client, db, new, settings, result, total, now, on_progress)
            t1 = time.perf_counter()
            result.changes = diff(client, db, new)
            log.info("rebuild.compared", dossiers_changed=len(result.changes.dossier_ids),
                     duration_ms=round((time.perf_counter() - t1) * 1000))
            if not dry_run and int(_scalar(client, f"SELECT count() FROM {db}.events FINAL")) != total:
                raise RebuildError(f"events arrived in {db} while rebuilding: a worker is still writing. "
                                   "Stop it and run the rebuild again; nothing was switched")
        except BaseException:
            client.command(f"DROP DATABASE IF EXISTS {new}")
            raise
        if dry_run:
            client.command(f"DROP DATABASE {new}")
            result.kept = ""
        else:
            switch(client, db, new)  # all or nothing: a failure swaps back what it swapped
            result.switched = True
            _note(client, new, f"the tables of {db} before the rebuild of {_stamp()}")
    finally:
        client.close()
    result.elapsed_s = time.perf_counter() - t0
    log.info("rebuild.done", database=db, kept=result.kept, events=result.events, refused=result.refused,
             switched=result.switched, duration_s=round(result.elapsed_s, 2))
    return result


def _fill(client: Any, db: str, new: str, settings: Settings, result: RebuildResult, total: int,
          now: Callable[[], datetime], on_progress: Callable[[int, int], None] | None) -> None:
    rules = load_rules(settings)
    processor = Processor(rules, load_directory(rules, settings), partitions=settings.partitions,
                          lateness=settings.allowed_lateness, now=now, partitioner=partitioner(settings.partitions),
                          hot_limit=settings.hot_dossiers)
    states: dict[str, list[Any]] = {}
    alerts: dict[str, list[Any]] = {}
    t0 = time.perf_counter()

    def collect(out: Output) -> None:
        for s in out.states:
            states[s.dossier_id] = state_row(s, out.at)
        for a in out.alerts:
            alerts[a.spec.alert_id] = alert_row(a)
        keep_again(out)
        result.refused += sum(dl.error_code != PROCESSING_ERROR for dl in out.dead_letters)
        result.set_aside += sum(dl.error_code == PROCESSING_ERROR for dl in out.dead_letters)

    # The records a processing error set aside go through again, in their place in time:
    # after the fix they become events; if they fail again, processing_error dead letters.
    set_aside = _set_aside_records(client, db)
    again_ids = {key[2] for key, _ in set_aside}
    again: list[Any] = []  # their events and dead letters in the rebuilt tables

    def keep_again(out: Output) -> None:
        again.extend(("events", event_row(ev, out.at)) for ev in out.events if ev.event_id in again_ids)
        again.extend(("dead_letters", dead_letter_row(dl, out.at)) for dl in out.dead_letters
                     if dl.error_code == PROCESSING_ERROR)

    def stored() -> Iterator[tuple[tuple[datetime, str, str], tuple[bytes, str]]]:
        for _, row in stored_events(client, db):
            yield ((row["occurred_at"], row["dossier_id"], row["event_id"]),
                   (orjson.dumps(event_object(row)), f"{db}.events:{row['event_id']}"))

    batch: list[Record] = []
    merged = heapq.merge(stored(), set_aside, key=lambda item: item[0])
    for n, ((_, dossier_id, _), (raw, source)) in enumerate(merged):
        batch.append(Record(raw, dossier_id.encode(), processor.partition_of(dossier_id), n, source))
        if len(batch) >= BATCH:
            collect(processor.process(batch))
            batch = []
            if on_progress is not None:
                on_progress(n + 1, total)
    collect(processor.process(batch))
    if result.as_of is not None:
        collect(processor.finish(result.as_of))
    result.events, result.dossiers = processor.stats["records"], len(states)
    log.info("rebuild.processed", events=result.events, dossiers=result.dossiers,
             duration_ms=round((time.perf_counter() - t0) * 1000))
    t0 = time.perf_counter()
    if result.refused:
        log.warning("rebuild.refused", events=result.refused, detail="stored events the new rules refuse")

    old_tables = _tables(client, db)
    for table in _CARRIED + tuple(t for t in _base_tables(client, new) if t not in _CARRIED + _REBUILT):
        if table == "schema_migrations" or table not in old_tables:
            continue
        cols = ", ".join(_columns(client, new, table))
        final = " FINAL" if old_tables[table].startswith(("Replacing", "Collapsing", "VersionedCollapsing")) else ""
        where = f" WHERE error_code != '{PROCESSING_ERROR}'" if table == "dead_letters" else ""
        client.command(f"INSERT INTO {new}.{table} ({cols}) SELECT {cols} FROM {db}.{table}{final}{where}")
    for table in ("events", "dead_letters"):
        rows = [row for t, row in again if t == table]
        if rows:
            client.insert(f"{new}.{table}", rows, column_names=list(TABLE_COLUMNS[table]))
    client.insert(f"{new}.dossier_state", list(states.values()), column_names=list(STATE_COLUMNS))
    client.insert(f"{new}.alerts", _with_history(client, db, alerts), column_names=list(ALERT_COLUMNS))
    mark = processor.low_watermark()
    if mark is not None:
        client.insert(f"{new}.stream_progress", [["watermark", mark, now()]],
                      column_names=["name", "watermark", "updated_at"])
    log.info("rebuild.written", database=new, duration_ms=round((time.perf_counter() - t0) * 1000))


def _set_aside_records(client: Any, db: str) -> list[tuple[tuple[datetime, str, str], tuple[bytes, str]]]:
    """The records of the `processing_error` dead letters, keyed like the stored events
    (occurred_at, dossier, event id) so the two streams merge in time order."""
    rows = client.query(f"SELECT source, raw FROM {db}.dead_letters FINAL WHERE error_code = {{c:String}}",
                        parameters={"c": PROCESSING_ERROR}).result_rows
    out = []
    for source, raw in rows:
        data = raw if isinstance(raw, bytes) else raw.encode()
        obj = orjson.loads(data)  # a processing_error's raw bytes are a valid event
        at = datetime.fromisoformat(obj["occurred_at"].upper())
        out.append(((at, obj["dossier_id"], obj["event_id"]), (data, source)))
    return sorted(out, key=lambda item: item[0])


def _with_history(client: Any, db: str, alerts: dict[str, list[Any]]) -> list[list[Any]]:
    """New alerts, with the emission time of those already emitted, plus the old ones retracted."""
    emitted, retracted = ALERT_COLUMNS.index("emitted_at"), ALERT_COLUMNS.index("retracted")
    version = ALERT_COLUMNS.index("version")
    q = client.query(f"SELECT {', '.join(ALERT_COLUMNS)} FROM {db}.alerts FINAL")
    out = dict(alerts)
    for old in q.result_rows:
        old = list(old)
        new = out.get(old[0])
        if new is not None:
            new[emitted] = old[emitted]
        else:
            if not old[retracted]:
                old[retracted], old[version] = True, old[version] + 1
            out[old[0]] = old
    return list(out.values())


def switch(client: Any, database: str, other: str) -> None:
    """Swap every base table of `database` with its namesake in `other`.

    Each `EXCHANGE TABLES` is atomic (no query ever finds a table missing); a
    statement with several pairs runs them one after another anyway, so they
    are issued one by one here, and a failure swaps back the pairs already
    swapped: the switch happens whole or not at all."""
    mine = set(_base_tables(client, database))
    pairs = [t for t in _base_tables(client, other) if t in mine]
    if not pairs:
        raise RebuildError(f"{other} has no tables to switch with {database}")
    done: list[str] = []
    try:
        for t in pairs:
            client.command(f"EXCHANGE TABLES {database}.{t} AND {other}.{t}")
            done.append(t)
    except Exception:
        for t in reversed(done):
            client.command(f"EXCHANGE TABLES {database}.{t} AND {other}.{t}")
        raise
    log.info("rebuild.switched", database=database, other=other, tables=len(pairs))


def revert(settings: Settings, name: str) -> None:
    """Switch back: the tables kept in `name` become live again (and the current ones kept there)."""
    client = connect(settings.clickhouse.get_secret_value())
    try:
        db = check_identifier(settings.database)
        if name not in rebuild_databases(client, db):
            raise ValueError(f"{name} is not a rebuild database of {db}; see `dossier-stream rebuild --list`")
        switch(client, db, name)
        _note(client, name, f"the tables of {db} before the revert of {_stamp()}")
    finally:
        client.close()


def drop(settings: Settings, name: str) -> None:
    client = connect(settings.clickhouse.get_secret_value())
    try:
        db = check_identifier(settings.database)
        if name not in rebuild_databases(client, db):
            raise ValueError(f"{name} is not a rebuild database of {db}; see `dossier-stream rebuild --list`")
        client.command(f"DROP DATABASE {check_identifier(name)}")
    finally:
        client.close()


def listing(settings: Settings) -> list[tuple[str, int, int, str]]:
    """(database, events, dossiers, latest note) of every rebuild database kept."""
    client = connect(settings.clickhouse.get_secret_value())
    try:
        out = []
        for name in rebuild_databases(client, settings.database):
            events = _scalar(client, f"SELECT count() FROM {name}.events FINAL")
            dossiers = _scalar(client, f"SELECT count() FROM {name}.dossier_state FINAL")
            has_note = _NOTE in _tables(client, name)
            note = _scalar(client, f"SELECT argMax(note, at) FROM {name}.{_NOTE}") if has_note else ""
            out.append((name, int(events or 0), int(dossiers or 0), note or ""))
        return out
    finally:
        client.close()
