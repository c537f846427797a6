"""The `dossier-stream` console script: run, sync, generate, demo, worker, report, replay, rebuild, export, users.

Configuration comes from `DOSSIER_*` environment variables; every flag names
its variable in `--help`. Settings are read once here and passed down;
logging is configured once here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Sequence

import structlog

from stream_app import logs
from stream_app.settings import Settings

log = structlog.get_logger(__name__)

# flag -> settings field; help text shows the environment variable.
COMMON_FLAGS = {
    "--broker": ("broker", "Kafka bootstrap servers; unset: start the embedded broker"),
    "--clickhouse": ("clickhouse", "clickhouse-connect DSN (chdb:///path or http://user:pw@host:8123/db)"),
    "--database": ("database", "ClickHouse database"),
    "--catalog": ("catalog", "procedure catalog CSV; unset: the shipped catalog"),
    "--partitions": ("partitions", "partitions of the events topic"),
    "--log-format": ("log_format", "auto | json | console"),
}


def _add_common(p: argparse.ArgumentParser) -> None:
    for flag, (field, text) in COMMON_FLAGS.items():
        p.add_argument(flag, dest=field, default=None, help=f"{text} [env: DOSSIER_{field.upper()}]")


# Rule files a rebuild recomputes with, on the commands that take them.
RULE_FLAGS = {
    "--calendar": ("calendar", "extra days off / make-up working days (TOML, added to the shipped table)"),
}


def _add_rules(p: argparse.ArgumentParser) -> None:
    for flag, (field, text) in RULE_FLAGS.items():
        p.add_argument(flag, dest=field, default=None, help=f"{text} [env: DOSSIER_{field.upper()}]")


# The report letter's configuration, on `report`.
REPORT_FLAGS = {
    "--report-config": ("report_config", "the letter's TOML: issuing body, place, recipients, signer, remedy texts"),
}
# --- sync records (issue 21): the unit directory and the status mapping, on the commands that convert
SYNC_FLAGS = {
    "--units": ("units", "unit directory CSV unit_code,name[,kind,district,aliases]; unset: the shipped units"),
    "--sync-mapping": ("sync_mapping", "TOML overriding the shipped sync status mapping"),
}
# Settings that one command's own flags set (each flag's help names its variable).
COMMAND_SETTINGS = ("catch_up", "live_clock_start", "max_dead_letters", "workers")


def _add_sync(p: argparse.ArgumentParser) -> None:
    for flag, (field, text) in SYNC_FLAGS.items():
        p.add_argument(flag, dest=field, default=None, help=f"{text} [env: DOSSIER_{field.upper()}]")


def _settings(args: argparse.Namespace) -> Settings:
    flags = {**COMMON_FLAGS, **RULE_FLAGS, **REPORT_FLAGS, **SYNC_FLAGS}
    fields = [f for _, (f, _) in flags.items()] + list(COMMAND_SETTINGS)
    overrides = {f: getattr(args, f) for f in fields if getattr(args, f, None) is not None}
    return Settings(**overrides)


def _timestamp(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a timestamp: {text!r}; give one with its UTC offset, e.g. 2024-03-31T23:59:59+07:00") from None
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2024-03-31T23:59:59+07:00")
    return t


def _dead_letter_limit(text: str) -> str:
    from stream_app.jobs.run import parse_limit

    try:
        parse_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"a whole number from 1, got {text!r}")
    return n


def _clock_start(text: str) -> str:
    """A drill clock's start: a timestamp with its offset, or `store` (the store's own clock)."""
    if text.strip().lower() != "store":
        _timestamp(text)
    return text.strip()


def _moment(text: str) -> datetime:
    """A timestamp with its UTC offset, or a local date (YYYY-MM-DD) / month (YYYY-MM) at midnight."""
    from stream_app.domain.calendar import TZ

    try:
        if len(text) == 7:
            return datetime.combine(date.fromisoformat(text + "-01"), time(0), TZ)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), TZ)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}") from None
    return _timestamp(text)


def _speed(text: str) -> float | None:
    from stream_app.replay.pace import parse_speed

    try:
        return parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _units(given: list[str], settings: Settings) -> tuple[str, ...]:
    """Unit codes for `--unit`: a code, or a unit's full or short name (as the page shows it)."""
    if not given:
        return ()
    from stream_app.jobs.rules import load_directory, load_rules

    directory = load_directory(load_rules(settings), settings)
    codes = tuple(directory.resolve_unit(u) or u for u in given)
    unknown = [u for u, c in zip(given, codes) if c not in directory.units]
    if unknown:
        raise ValueError(f"unknown unit {unknown[0]!r}: give a unit code such as 001.22.31.H53, or its name")
    return codes


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=_moment, default=None,
                   help="only events at or after this time (RFC 3339 with offset, or YYYY-MM-DD / YYYY-MM local)")
    p.add_argument("--until", type=_moment, default=None, help="only events before this time (same forms)")
    p.add_argument("--unit", action="append", default=[], metavar="UNIT",
                   help="only dossiers received by this unit: its code or its name (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    from stream_app.replay.generate import DEFAULT_DOSSIERS_PER_MONTH, DEFAULT_START

    parser = argparse.ArgumentParser(prog="dossier-stream", description="Real-time watch over land-registration dossiers.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="replay a JSON Lines file through the broker and the worker")
    p.add_argument("--events", type=Path, required=True, help="events file (.jsonl or .jsonl.gz)")
    p.add_argument("--as-of", type=_timestamp, default=None,
                   help="fire timers up to this time (default: the latest occurred_at in the file)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--max-dead-letters", dest="max_dead_letters", type=_dead_letter_limit, default=None,
                   metavar="N|P%", help="exit 3 when more lines than this were dead letters: a count (100) or a share "
                                        "of the lines (5%%) [env: DOSSIER_MAX_DEAD_LETTERS]")
    p.add_argument("--workers", dest="workers", type=_positive, default=None, metavar="N",
                   help="worker processes sharing the partitions (default 1); with more, an embedded store is "
                        "served to them for the run [env: DOSSIER_WORKERS]")
    _add_common(p)

    p = sub.add_parser("generate", help="write a realistic synthetic province as JSON Lines",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the file to write (.jsonl, or .jsonl.gz for gzip); "
                                                           "its folder must exist")
    p.add_argument("--months", type=int, default=2, help="months of intake")
    p.add_argument("--seed", type=int, default=1, help="the same seed always writes the same bytes")
    p.add_argument("--dossiers-per-month", type=int, default=DEFAULT_DOSSIERS_PER_MONTH,
                   help="the province's monthly intake")
    p.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START, help="first day (YYYY-MM-DD)")
    p.add_argument("--format", choices=["events", "dvcqg"], default="events",
                   help="events: lifecycle events (docs/contract.md §1); dvcqg: the provincial system's sync "
                        "envelopes to the national portal, quirks and fake personal fields included (docs/ingest.md)")

    p = sub.add_parser("demo", help="the whole story on embedded defaults, in about ten seconds")
    p.add_argument("--workdir", type=Path, default=Path("var/demo"), help="where the demo keeps its files")
    p.add_argument("--sync", action="store_true",
                   help="feed the province as the national portal's sync records (dossier-stream sync)")
    _add_common(p)

    # --- sync records (issue 21)
    p = sub.add_parser("sync", help="a file of the provincial systems' sync envelopes into the pipeline")
    p.add_argument("--file", type=Path, required=True,
                   help="JSON Lines (.jsonl or .jsonl.gz), one envelope per line as the system POSTs it")
    p.add_argument("--as-of", type=_timestamp, default=None,
                   help="fire timers up to this time (default: the latest time of the events made)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_sync(p)
    _add_common(p)

    p = sub.add_parser("worker", help="the long-running live worker")
    p.add_argument("--catch-up", dest="catch_up", action="store_const", const=True, default=None,
                   help="move a store's clock on to now even when it is far behind (after real downtime) "
                        "[env: DOSSIER_CATCH_UP]")
    p.add_argument("--clock-start", dest="live_clock_start", type=_clock_start, default=None, metavar="TIME|store",
                   help="run on a drill clock that starts at TIME (RFC 3339 with offset), or at the store's own "
                        "clock with `store`: look at replayed data live [env: DOSSIER_LIVE_CLOCK_START]")
    _add_sync(p)
    _add_common(p)

    p = sub.add_parser("report", help="the monthly report from ClickHouse")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--unit", default=None, help="only this receiving unit (its code or its name)")
    p.add_argument("--format", default="table", choices=["table", "csv", "xlsx", "md", "docx"],
                   help="docx: the administrative letter ready to sign (Decree 30/2020/NĐ-CP), with charts")
    p.add_argument("--out", type=Path, default=None, help="output file (xlsx and docx need one)")
    p.add_argument("--charts", type=Path, default=None, metavar="DIR",
                   help="also write the report's charts into DIR as PNG (for slides)")
    for flag, (field, text) in REPORT_FLAGS.items():
        p.add_argument(flag, dest=field, type=Path, default=None, help=f"{text} [env: DOSSIER_{field.upper()}]")
    _add_common(p)

    p = sub.add_parser("replay", help="produce historical events into the events topic: any source, pace, resumable")
    p.add_argument("--source", required=True, metavar="FILE|clickhouse",
                   help="a .jsonl, .jsonl.gz or exported .parquet file, or `clickhouse` for the stored events")
    p.add_argument("--source-database", default=None,
                   help="with --source clickhouse: the database to read (default: --database)")
    _add_selection(p)
    p.add_argument("--speed", type=_speed, default=None, metavar="N|max",
                   help="compress the original gaps N times (3600 = an hour per second); max: as fast as possible "
                        "(default)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted replay of the same source and selection from its checkpoint")
    p.add_argument("--checkpoint-dir", type=Path, default=Path("var/replay"), help="where checkpoints are kept")
    p.add_argument("--as-of", type=_timestamp, default=None,
                   help="embedded broker only: fire timers up to this time (default: the latest occurred_at)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_common(p)

    p = sub.add_parser("rebuild", help="recompute state, alerts and aggregates from the stored events, then switch")
    p.add_argument("--as-of", type=_timestamp, default=None,
                   help="fire timers up to this time (default: the stream's current watermark)")
    p.add_argument("--dry-run", action="store_true", help="report what would change, switch nothing")
    p.add_argument("--show", type=int, default=20, help="changed dossiers, alerts and figures listed (each kind)")
    p.add_argument("--list", action="store_true", help="list the kept rebuild databases")
    p.add_argument("--drop", metavar="NAME", default=None, help="drop a kept rebuild database")
    p.add_argument("--revert", metavar="NAME", default=None, help="switch back to the tables kept in NAME")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_rules(p)
    _add_common(p)

    p = sub.add_parser("store", help="serve the embedded store to other processes (workers, report, export, …) "
                                     "over ClickHouse's HTTP and native protocols, on loopback")
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one, printed)")
    p.add_argument("--tcp-port", type=int, default=None, help="native protocol port (default: a free one)")
    _add_common(p)

    p = sub.add_parser("calendar", help="a year's days off and make-up working days, with where each comes from")
    p.add_argument("year", type=int, help="the year, e.g. 2027")
    _add_rules(p)
    _add_common(p)

    p = sub.add_parser("export", help="the stored events in the input format (JSON Lines or Parquet)")
    _add_selection(p)
    p.add_argument("--format", choices=["jsonl", "parquet"], default=None,
                   help="jsonl (default; .gz out file: gzip) or parquet (default when --out ends in .parquet)")
    p.add_argument("--out", type=Path, default=None, help="output file (default for jsonl: stdout)")
    p.add_argument("--source-database", default=None, help="the database to read (default: --database)")
    _add_common(p)

    # --- users of the live page (issue 18) ------------------------------------
    p = sub.add_parser("users", help="who may sign in to the live page, and which units they see")
    p.add_argument("--file", dest="users_file", type=Path, default=None, metavar="FILE",
                   help="the user file [env: DOSSIER_USERS] (default var/users.json)")
    users = p.add_subparsers(dest="action", required=True)
    u = users.add_parser("add", help="a new user; the password is asked twice (or read from standard input)")
    u.add_argument("name", help="user name: a-z 0-9 . _ -, e.g. lan.nguyen")
    _add_scope(u)
    users.add_parser("list", help="every user, their role, units and state")
    for action, text in (("disable", "the user can no longer sign in; their sessions end"),
                         ("enable", "a disabled user may sign in again"),
                         ("passwd", "a new password (asked twice, or read from standard input); other sessions end")):
        users.add_parser(action, help=text).add_argument("name")
    u = users.add_parser("units", help="change which units a user sees")
    u.add_argument("name")
    _add_scope(u)
    u = users.add_parser("token", help="a new token for scripts reading GET /api/… (shown once), or --revoke it")
    u.add_argument("name")
    u.add_argument("--revoke", action="store_true", help="remove the user's token")
    return parser


def _add_scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", dest="all_units", action="store_true", help="the task force: every unit")
    p.add_argument("--unit", dest="units", action="append", default=[], metavar="UNIT",
                   help="a unit whose dossiers they see, by code or name (repeatable)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args) if hasattr(args, "broker") else Settings()
    logs.configure(settings.log_format, settings.log_level)
    try:
        return COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a clear message and a non-zero exit, never a traceback, never a hang
        from stream_app.kafka.admin import BrokerUnavailable

        if isinstance(exc, (BrokerUnavailable, ConnectionError, FileNotFoundError, ValueError)):
            log.error("command.failed", command=args.command, error=type(exc).__name__, detail=str(exc))
            return 2
        # Not something a user did: a bug or an unforeseen failure. The traceback is for
        # developers (DOSSIER_LOG_LEVEL=DEBUG), the message for everyone.
        log.error("command.failed", command=args.command, error=type(exc).__name__, detail=str(exc)[:500],
                  hint="an internal error; DOSSIER_LOG_LEVEL=DEBUG shows where",
                  exc_info=settings.log_level.upper() == "DEBUG")
        return 1


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.console import print_summary, progress_bar
    from stream_app.jobs.fleet import run_fleet
    from stream_app.jobs.run import run_file
    from stream_app.jobs.stack import kafka_bootstrap

    if not args.events.exists():
        raise FileNotFoundError(f"events file not found: {args.events}")
    with kafka_bootstrap(settings) as bootstrap, progress_bar(enabled=not args.no_progress) as progress:
        if settings.workers > 1:
            job = run_fleet(settings, args.events, workers=settings.workers, as_of=args.as_of, bootstrap=bootstrap,
                            progress=progress)
        else:
            job = run_file(settings, args.events, as_of=args.as_of, bootstrap=bootstrap, progress=progress)
        summary = asyncio.run(_or_exit(args.command, job))
    print_summary(summary)
    if summary.over(settings.max_dead_letters):
        log.error("run.too_many_dead_letters", dead_letters=sum(summary.dead_letters.values()),
                  records=summary.records, limit=settings.max_dead_letters)
        return 3
    return 0


async def _or_exit(command: str, job: Any) -> Any:
    """Await a job; if it lost its broker (exit 2) or a batch failed (exit 1), log that
    and exit at once.

    Faust cannot stop cleanly once its broker is gone or its agent has crashed (its
    consumer thread and its stop task never finish), so `asyncio.run`'s clean-up, and
    then the interpreter's wait for threads, would hang. Safe: the runner has already
    closed ClickHouse, and nothing that is not in ClickHouse was acknowledged.
    """
    from stream_app.core.pipeline import ProcessingFailed
    from stream_app.jobs.fleet import WorkerProcessFailed
    from stream_app.kafka.admin import BrokerUnavailable

    try:
        return await job
    except (BrokerUnavailable, ProcessingFailed, WorkerProcessFailed) as exc:
        log.error("command.failed", command=command, error=type(exc).__name__, detail=str(exc))
        _leave(2 if isinstance(exc, BrokerUnavailable) or getattr(exc, "code", 1) == 2 else 1)


def _leave(code: int) -> None:
    """Exit at once, with what was printed flushed (see `_or_exit`)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.replay.generate import generate

    if not args.out.parent.is_dir():
        raise FileNotFoundError(f"the folder {args.out.parent} does not exist: create it first, or write elsewhere")
    stats = generate(args.out, months=args.months, seed=args.seed, dossiers_per_month=args.dossiers_per_month,
                     start=args.start, progress=sys.stderr.isatty(), format=args.format)
    print(f"wrote {args.out}: {_describe(stats)}")
    return 0


def _describe(stats: Any) -> str:
    if getattr(stats, "envelopes", 0):
        return f"{stats.envelopes} envelopes for {stats.dossiers} dossiers"
    for name in ("events", "lines"):
        if hasattr(stats, name):
            return f"{getattr(stats, name)} {name}"
    return str(stats)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.jobs.stack import kafka_bootstrap
    from stream_app.jobs.worker import run_worker

    async def main_async(bootstrap: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _or_exit(args.command, run_worker(settings, bootstrap=bootstrap, stop=stop))

    with kafka_bootstrap(settings) as bootstrap:
        asyncio.run(main_async(bootstrap))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.demo import run_demo

    logs.configure(settings.log_format, "WARNING")  # the story, not the plumbing
    return run_demo(settings, args.workdir, sync=args.sync)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.jobs.report import run_report

    from stream_app.clock import utc_now
    from stream_app.domain.calendar import TZ

    return run_report(settings, month=args.month, unit=args.unit, fmt=args.format, out=args.out,
                      charts=args.charts, today=utc_now().astimezone(TZ).date())


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    import threading

    from stream_app.console import print_replay, print_summary, replay_progress
    from stream_app.jobs import replay as session
    from stream_app.jobs.stack import kafka_bootstrap
    from stream_app.kafka.admin import ensure_topics
    from stream_app.kafka.security import client_config
    from stream_app.replay.export import Selection
    from stream_app.replay.feed import FileFeed, StoreFeed, preread
    from stream_app.replay.pace import Pacer
    from stream_app.replay.resume import Checkpoint, checkpoint_key
    from stream_app.store.client import connect, redact

    selection = Selection(args.since, args.until, _units(args.unit, settings))
    dsn = settings.clickhouse.get_secret_value()
    client = connect(dsn) if args.source == "clickhouse" else None
    try:
        feed: Any = (StoreFeed(client, args.source_database or settings.database, selection, dsn=redact(dsn))
                     if client is not None else FileFeed(Path(args.source), selection))
        target = ({"broker": settings.broker, "topic": settings.events_topic} if settings.broker
                  else {"store": redact(dsn), "database": settings.database})
        key = checkpoint_key(source=feed.identity, selection=selection.key(), target=target)
        checkpoint = Checkpoint.open(args.checkpoint_dir, feed.name, key, source=feed.identity,
                                     fingerprint=feed.fingerprint, resume=args.resume)
        if checkpoint.complete:
            print(f"nothing to resume: this replay completed ({checkpoint.done:,} records); "
                  f"run without --resume to replay again [{checkpoint.path}]")
            return 0
        if client is not None and not settings.broker:
            feed = preread(feed, checkpoint.position)  # chDB: one client at a time once the worker runs
            client.close()
            client = None
        stop, stopped_by = threading.Event(), []

        def on_signal(signum: int, _frame: Any) -> None:
            # First Ctrl-C/SIGTERM: stop cleanly and save the checkpoint; a second one is the default.
            stopped_by.append(signum)
            signal.signal(signum, signal.SIG_DFL if signum == signal.SIGTERM else signal.default_int_handler)
            threading.Thread(target=stop.set, daemon=True).start()  # never take a lock inside a handler

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        pacer = Pacer(args.speed, sleep=stop.wait)
        try:
            with kafka_bootstrap(settings) as bootstrap, replay_progress(not args.no_progress) as progress:
                if settings.broker:
                    ensure_topics(bootstrap, settings)  # an auto-created topic may have the wrong partition count
                    result = session.to_cluster(feed, bootstrap=bootstrap, topic=settings.events_topic, pacer=pacer,
                                                checkpoint=checkpoint, client_config=client_config(settings),
                                                stop=stop, on_progress=progress)
                else:
                    result = asyncio.run(_or_exit(args.command, session.embedded(
                        settings, feed, bootstrap=bootstrap, pacer=pacer, checkpoint=checkpoint, as_of=args.as_of,
                        stop=stop, on_progress=progress)))
        except KeyboardInterrupt:
            print(f"interrupted: continue with the same command and --resume [{checkpoint.path}]", file=sys.stderr)
            return 130
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        if client is not None:
            client.close()
    print_replay(result, feed.name, args.speed, target=settings.broker or "embedded broker and worker")
    if result.summary is not None:
        print_summary(result.summary)
    if stopped_by and not result.complete:
        print(f"interrupted: continue with the same command and --resume [{checkpoint.path}]", file=sys.stderr)
        return 130
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.jobs.rebuild import RebuildError

    try:
        return _rebuild(args, settings)
    except RebuildError as exc:
        log.error("command.failed", command="rebuild", error="RebuildError", detail=str(exc))
        return 2


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.console import print_rebuild, print_rebuilds, progress_bar
    from stream_app.jobs import rebuild as rb

    if args.list:
        print_rebuilds(rb.listing(settings))
        return 0
    if args.drop:
        rb.drop(settings, args.drop)
        print(f"dropped {args.drop}")
        return 0
    if args.revert:
        rb.revert(settings, args.revert)
        print(f"switched back: {settings.database} has the tables kept in {args.revert}, "
              f"and {args.revert} now keeps the ones replaced")
        return 0
    with progress_bar(enabled=not args.no_progress) as progress:
        result = rb.rebuild(settings, as_of=args.as_of, dry_run=args.dry_run,
                            on_progress=(lambda n, total: progress("rebuild", n, total)) if progress else None)
    print_rebuild(result, show=args.show)
    return 0


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.store.served import ServedStore

    dsn = settings.clickhouse.get_secret_value()
    if not dsn.startswith("chdb://"):
        raise ValueError("DOSSIER_CLICKHOUSE is not an embedded store (chdb:///path); a server serves itself")
    path = Path(dsn[len("chdb://"):]).expanduser()
    stop = {"now": False}

    def on_signal(_signum: int, _frame: Any) -> None:
        stop["now"] = True

    with ServedStore(path, http_port=args.port, tcp_port=args.tcp_port) as served:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        print(f"serving {path} at {served.url} (native protocol on port {served.tcp_port}, loopback only)\n"
              f"  other commands: DOSSIER_CLICKHOUSE={served.dsn} dossier-stream report|export|worker|…\n"
              "  Ctrl-C stops", flush=True)
        import time as clock

        while not stop["now"] and served.alive():
            clock.sleep(0.2)
        if not served.alive():
            raise ConnectionError(f"the store server for {path} stopped by itself")
    return 0


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.console import print_calendar
    from stream_app.domain.calendar import OfficeHours, WorkingCalendar

    if not 1950 <= args.year <= 2199:
        raise ValueError(f"year {args.year} is outside the calendar's range 1950-2199")
    calendar = WorkingCalendar.load(settings.calendar, OfficeHours.parse(settings.office_hours))
    print_calendar(args.year, calendar.days_of(args.year), confirmed=args.year in calendar.confirmed,
                   own_file=str(settings.calendar) if settings.calendar else None)
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.replay.export import Selection, export
    from stream_app.store.client import connect

    fmt = args.format or ("parquet" if args.out is not None and args.out.suffix == ".parquet" else "jsonl")
    selection = Selection(args.since, args.until, _units(args.unit, settings))
    client = connect(settings.clickhouse.get_secret_value())
    try:
        stats = export(client, args.source_database or settings.database, selection, fmt, args.out)
    finally:
        client.close()
    span = f" from {stats.first.isoformat()} to {stats.last.isoformat()}" if stats.first and stats.last else ""
    print(f"exported {stats.events:,} events{span} as {fmt} to {args.out or 'stdout'}", file=sys.stderr)
    return 0


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.console import print_summary, print_sync, progress_bar
    from stream_app.jobs.stack import kafka_bootstrap
    from stream_app.jobs.sync import sync_file

    if not args.file.exists():
        raise FileNotFoundError(f"sync file not found: {args.file}")
    with kafka_bootstrap(settings) as bootstrap, progress_bar(enabled=not args.no_progress) as progress:
        summary = asyncio.run(_or_exit(args.command, sync_file(
            settings, args.file, as_of=args.as_of, bootstrap=bootstrap, progress=progress)))
    print_sync(summary.sync)
    print_summary(summary)
    return 0


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from stream_app.access.passwords import PolicyError
    from stream_app.access.users import UserError
    from stream_app.jobs import users as job

    if args.users_file is not None:
        settings = settings.model_copy(update={"users": args.users_file})
    users = job.user_file(settings)
    try:
        if args.action == "list":
            rows = job.listing(users, job.directory(settings))
            for r in rows:
                print(f"{r.name}\t{r.role}\t{r.state}\ttoken: {r.token}\t{r.units}")
            if not rows:
                print(f"no users yet in {users.path}: add one with `dossier-stream users add NAME --all`")
        elif args.action == "add":
            names = job.directory(settings)
            scope = job.scope_of(args.all_units, args.units, names)
            user = users.add(args.name, scope, _new_password())
            print(f"added {user.name} ({job.describe(scope, names)}) to {users.path}")
        elif args.action == "units":
            names = job.directory(settings)
            scope = job.scope_of(args.all_units, args.units, names)
            users.set_scope(args.name, scope)
            print(f"{args.name} now sees {job.describe(scope, names)}")
        elif args.action == "passwd":
            if users.get(args.name) is None:
                raise UserError(f"no user {args.name!r} in {users.path} (see `users list`)")
            users.set_password(args.name, _new_password())
            print(f"new password for {args.name}; their other sessions have ended")
        elif args.action in ("disable", "enable"):
            users.set_disabled(args.name, args.action == "disable")
            print(f"{args.name} {args.action}d")
        elif args.revoke:
            users.revoke_token(args.name)
            print(f"{args.name} has no token any more")
        else:
            print(users.issue_token(args.name))
            print(f"the token of {args.name} (shown only now): send it as `Authorization: Bearer …` "
                  "on GET /api/…", file=sys.stderr)
    except (UserError, PolicyError, OSError) as exc:
        print(f"dossier-stream users {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


def _new_password() -> str:
    """From the terminal, asked twice without echo; else the first line of standard input."""
    import getpass

    from stream_app.access.users import UserError

    if sys.stdin.isatty():
        first = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("The same password again: ") != first:
            raise UserError("the two passwords differ; nothing changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UserError("no password on standard input (give one line, or run it in a terminal to be asked)")
    return line.rstrip("\r\n")


COMMANDS = {"sync": cmd_sync, "run": cmd_run, "generate": cmd_generate, "demo": cmd_demo, "worker": cmd_worker,
            "report": cmd_report, "replay": cmd_replay, "rebuild": cmd_rebuild, "export": cmd_export,
            "users": cmd_users, "calendar": cmd_calendar, "store": cmd_store}

if __name__ == "__main__":
    sys.exit(main())
