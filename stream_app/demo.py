"""`dossier-stream demo`: the whole story on embedded defaults, in about ten seconds.

Generates two months of a synthetic province, streams them through the real
pipeline (embedded Tansu broker → Faust agent → chDB) with a progress bar,
shows alerts as they fire, prints the monthly report, and tells the user how
to query ClickHouse and where to go next. Its store is `var/demo/clickhouse`,
rebuilt on every demo so the story is the same each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel

from stream_app.settings import Settings
from stream_app.store.client import redact

console = Console()

DEMO_START = date(2023, 10, 1)
DEMO_MONTHS = 2
DEMO_PER_MONTH = 3000
SHOWN_ALERTS = 8


def run_demo(settings: Settings, workdir: Path, *, sync: bool = False) -> int:
    """The story; with `sync`, told from the national portal's sync records (`dossier-stream sync`)."""
    from stream_app.console import print_summary, print_sync, progress_bar
    from stream_app.jobs.run import run_file
    from stream_app.jobs.stack import kafka_bootstrap
    from stream_app.jobs.sync import sync_file
    from stream_app.replay.generate import generate

    workdir.mkdir(parents=True, exist_ok=True)
    store = (workdir / "clickhouse").resolve()
    shutil.rmtree(store, ignore_errors=True)
    settings = settings.model_copy(update={"clickhouse": SecretStr(f"chdb://{store}")}) if _default_store(settings) else settings
    events = workdir / ("province-dvcqg.jsonl" if sync else "province.jsonl")

    console.print(Panel.fit(
        "[bold]dossier-stream[/] — giám sát hồ sơ đất đai theo thời gian thực\n"
        "1. generate two months of a synthetic province (1 office + 9 branches)"
        + (" as its one-stop systems sync it to the national portal\n" if sync else "\n") +
        "2. stream them through Kafka (embedded Tansu) → Faust → ClickHouse (chDB)\n"
        "3. show the task force's alerts as they fire, then the monthly report",
        title="demo"))
    t0 = time.perf_counter()
    stats = generate(events, months=DEMO_MONTHS, seed=1, dossiers_per_month=DEMO_PER_MONTH, start=DEMO_START,
                     format="dvcqg" if sync else "events")
    made = f"{stats.envelopes:,} sync envelopes" if sync else f"{stats.events:,} events"
    console.print(f"[green]✓[/] generated {made} for {stats.dossiers:,} dossiers → {events}")

    shown: list[dict[str, Any]] = []

    def on_alert(alert: dict[str, Any]) -> None:
        if len(shown) < SHOWN_ALERTS and not alert["retracted"]:
            shown.append(alert)
            console.print(f"[yellow]🔔 {alert['kind']}[/] {alert['message']}")

    console.print("[bold]Streaming…[/] (alerts for the task force, in Vietnamese, as they fire)")
    job = sync_file if sync else run_file
    with kafka_bootstrap(settings) as bootstrap, progress_bar() as progress:
        summary = asyncio.run(job(settings, events, bootstrap=bootstrap, progress=progress, on_alert=on_alert))
    if sync:
        print_sync(summary.sync)
    print_summary(summary)

    month = _last_full_month(DEMO_START, DEMO_MONTHS)
    console.print(f"\n[bold]Báo cáo tháng {month}[/] (monthly report)")
    try:
        from stream_app.jobs.report import run_report

        run_report(settings, month=month, unit=None, fmt="table", out=None)
    except ImportError:
        console.print("[dim](the monthly report command is not available in this build)[/]")

    # Not in a panel: its borders and wrapping would break the commands when copied.
    console.rule("what next")
    console.print(next_steps(settings, month, time.perf_counter() - t0), soft_wrap=True, highlight=False)
    return 0


def next_steps(settings: Settings, month: str, elapsed_s: float) -> str:
    """What to try next, as commands that work when pasted into this shell, as printed."""
    dsn = redact(settings.clickhouse.get_secret_value())
    store = dsn[len("chdb://"):] if dsn.startswith("chdb://") else None
    if store is not None:
        path = Path(store)
        with contextlib.suppress(ValueError):
            store = str(path.relative_to(Path.cwd()))
        dsn = f"chdb://{store}"
    cli = shlex.quote(str(Path(sys.argv[0]).parent / "dossier-stream")) if sys.argv[0].endswith("dossier-stream") \
        else "dossier-stream"
    env = f"DOSSIER_CLICKHOUSE={shlex.quote(dsn)}"
    return (
        f"Done in {elapsed_s:.0f} s. Everything is in ClickHouse at [bold]{dsn}[/] (the demo's own store).\n\n"
        "Next (each line as it is, from this folder):\n"
        f"  {env} {cli} report --month {month} --format docx --out bao-cao.docx\n"
        "      the task force's letter, ready to sign (also --format xlsx --out bao-cao.xlsx)\n"
        f"  {cli} users add totrinh --all\n"
        f"  {env} DOSSIER_WEB_ENABLED=true {cli} worker --clock-start store\n"
        "      the live page on the demo's data at http://127.0.0.1:6066/ (sign in as totrinh; Ctrl-C stops)\n"
        f"  {cli} generate --out year.jsonl --months 12 && {cli} run --events year.jsonl\n"
        "      a year of history, into the default store ./var/clickhouse\n"
        f"  {cli} demo --sync\n"
        "      the same story told from the provincial systems' sync records\n"
        "  docs/analytics.md: the tables and ready SQL; docs/contract.md: what goes in and out"
    )


def _default_store(settings: Settings) -> bool:
    return settings.clickhouse.get_secret_value() == Settings.model_fields["clickhouse"].default.get_secret_value()


def _last_full_month(start: date, months: int) -> str:
    y, m = start.year, start.month + months - 1
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return f"{y:04d}-{m:02d}"
