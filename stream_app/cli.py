"""The `dossier-stream` console script: run, generate, demo, worker, report.

Configuration comes from `DOSSIER_*` environment variables; every flag names
its variable in `--help`. Settings are read once here and passed down;
logging is configured once here.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence

import structlog

from . import logs
from .settings import Settings

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


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {f: getattr(args, f) for _, (f, _) in COMMON_FLAGS.items() if getattr(args, f, None) is not None}
    return Settings(**overrides)


def _timestamp(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2024-03-31T23:59:59+07:00")
    return t


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dossier-stream", description="Real-time watch over land-registration dossiers.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="replay a JSON Lines file through the broker and the worker")
    p.add_argument("--events", type=Path, required=True, help="events file (.jsonl or .jsonl.gz)")
    p.add_argument("--as-of", type=_timestamp, default=None,
                   help="fire timers up to this time (default: the latest occurred_at in the file)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_common(p)

    p = sub.add_parser("generate", help="write a realistic synthetic province as JSON Lines")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--months", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dossiers-per-month", type=int, default=None)
    p.add_argument("--start", type=date.fromisoformat, default=None, help="first day (YYYY-MM-DD)")

    p = sub.add_parser("demo", help="the whole story on embedded defaults, in about two minutes")
    p.add_argument("--workdir", type=Path, default=Path("var/demo"), help="where the demo keeps its files")
    _add_common(p)

    p = sub.add_parser("worker", help="the long-running live worker")
    _add_common(p)

    p = sub.add_parser("report", help="the monthly report from ClickHouse")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--unit", default=None, help="only this receiving unit")
    p.add_argument("--format", default="table", choices=["table", "csv", "xlsx", "md"])
    p.add_argument("--out", type=Path, default=None, help="output file (xlsx needs one)")
    _add_common(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args) if hasattr(args, "broker") else Settings()
    logs.configure(settings.log_format, settings.log_level)
    try:
        return COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a clear message and a non-zero exit, never a hang
        from .broker import BrokerUnavailable

        if isinstance(exc, (BrokerUnavailable, ConnectionError, FileNotFoundError, ValueError)):
            log.error("command.failed", command=args.command, error=type(exc).__name__, detail=str(exc))
            return 2
        raise


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from .console import print_summary, progress_bar
    from .runner import kafka_bootstrap, run_file

    if not args.events.exists():
        raise FileNotFoundError(f"events file not found: {args.events}")
    with kafka_bootstrap(settings) as bootstrap, progress_bar(enabled=not args.no_progress) as progress:
        summary = asyncio.run(run_file(settings, args.events, as_of=args.as_of, bootstrap=bootstrap, progress=progress))
    print_summary(summary)
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from replay.generate import generate

    stats = generate(args.out, months=args.months, seed=args.seed,
                     dossiers_per_month=args.dossiers_per_month, start=args.start, progress=sys.stderr.isatty())
    print(f"wrote {args.out}: {_describe(stats)}")
    return 0


def _describe(stats: Any) -> str:
    for name in ("events", "lines"):
        if hasattr(stats, name):
            return f"{getattr(stats, name)} {name}"
    return str(stats)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from .runner import kafka_bootstrap, run_worker, wall_clock

    async def main_async(bootstrap: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, bootstrap=bootstrap, stop=stop, now=wall_clock(settings))

    with kafka_bootstrap(settings) as bootstrap:
        asyncio.run(main_async(bootstrap))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import run_demo

    logs.configure(settings.log_format, "WARNING")  # the story, not the plumbing
    return run_demo(settings, args.workdir)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from .report import run_report

    return run_report(settings, month=args.month, unit=args.unit, fmt=args.format, out=args.out)


COMMANDS = {"run": cmd_run, "generate": cmd_generate, "demo": cmd_demo, "worker": cmd_worker, "report": cmd_report}

if __name__ == "__main__":
    sys.exit(main())
