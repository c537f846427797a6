"""kill -9 during `dossier-stream run`, then run again: the tables of a clean run, every
webhook alert delivered (issue 7, item 1).

The embedded broker keeps nothing, so every rerun replays the file from its first line;
what carries over is the store (restored dossiers, fired alerts, the watermark) and the
webhook outbox. The fast test kills the worker at its first webhook POST — the moment
the alerts of a batch are in ClickHouse and none is posted yet, where a worker that
restores them as already fired would never post them. The slow test kills it five
times at random moments of a 115 000-event replay.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from stream_app.core.pipeline import DELIVERY_CHUNK
from stream_app.replay.generate import generate
from tests.reliability.conftest import CleanRun
from tests.reliability.helpers import (
    SECRET,
    Post,
    Receiver,
    children,
    cli_env,
    kill9,
    query,
    start_run,
    tables,
    wait_dead,
)

pytestmark = pytest.mark.integration


def expected_keys(store: Path) -> set[str]:
    """The Idempotency-Key of every alert message the store says was emitted."""
    rows = query(store, "SELECT alert_id, retracted FROM dossier.alerts FINAL")
    return {a for a, _ in rows} | {f"{a}:retracted" for a, r in rows if r}


def webhook_env(store: Path, receiver: Receiver) -> dict[str, str]:
    return cli_env(store, DOSSIER_ALERT_WEBHOOKS=receiver.url, DOSSIER_WEBHOOK_SECRET=SECRET)


def test_kill_9_at_the_first_webhook_post_loses_nothing_and_posts_nothing_twice(clean: CleanRun, tmp_path: Path):
    store, log = tmp_path / "store", tmp_path / "run.log"
    killed = threading.Event()
    target: dict[str, object] = {}

    def respond(n: int, post: Post) -> int:
        if target.get("phase") != "crash":
            return 200
        if not killed.is_set():  # the first POST: the batch's alerts are in the store, none posted
            proc = target["proc"]
            assert isinstance(proc, subprocess.Popen)
            target["broker"] = children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            killed.set()
        return 503  # the worker is dead: nothing of this batch counts as accepted

    with Receiver(respond) as receiver:
        target["phase"] = "crash"
        proc = target["proc"] = start_run(clean.events, webhook_env(store, receiver), log)
        assert proc.wait(timeout=120) == -signal.SIGKILL, log.read_text()
        assert killed.is_set()
        assert target["broker"], "the run had no embedded broker child"
        assert wait_dead(target["broker"]) == [], "the embedded broker outlived its worker"
        time.sleep(0.3)  # POSTs the dead worker had in flight are answered 503 before the rerun
        target["phase"] = "rerun"
        rerun = start_run(clean.events, webhook_env(store, receiver), log)
        assert rerun.wait(timeout=120) == 0, log.read_text()[-3000:]

        assert tables(store) == clean.tables
        keys = expected_keys(store)
        assert keys and receiver.delivered() == {k: 1 for k in keys}
        assert receiver.signed()
        refused = {p.key for p in receiver.posts if p.status >= 300}
        assert refused, "the crash happened before any POST"
        assert refused <= keys


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_five_random_kill_9_during_a_115k_event_replay_leave_the_tables_of_a_clean_run(tmp_path: Path):
    events = tmp_path / "province.jsonl"
    stats = generate(events, months=4, seed=5, dossiers_per_month=4000, start=date(2023, 10, 1))
    assert stats.events >= 100_000
    clean_store, crash_store, log = tmp_path / "clean", tmp_path / "crash", tmp_path / "run.log"
    t0 = time.monotonic()
    assert start_run(events, cli_env(clean_store), log).wait(timeout=900) == 0, log.read_text()[-3000:]
    clean_s = time.monotonic() - t0

    seed = int(os.environ.get("RELIABILITY_SEED", "20261125"))
    rng = random.Random(seed)
    with Receiver() as receiver:
        env = cli_env(crash_store, DOSSIER_ALERT_WEBHOOKS=receiver.url, DOSSIER_WEBHOOK_SECRET=SECRET)
        accepted_before: list[int] = []
        moments = []
        for _ in range(5):
            moment = rng.uniform(0.25, 0.95) * clean_s  # start-up takes the first few seconds
            moments.append(round(moment, 1))
            proc = start_run(events, env, log)
            deadline = time.monotonic() + moment
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert proc.poll() is None, f"the run ended before its kill at {moment:.1f}s (seed {seed})"
            broker = kill9(proc)
            assert wait_dead(broker) == [], "the embedded broker outlived its worker"
            accepted_before.append(len(receiver.posts))
        t1 = time.monotonic()
        assert start_run(events, env, log).wait(timeout=900) == 0, log.read_text()[-3000:]
        final_s = time.monotonic() - t1

        clean_tables, crash_tables = tables(clean_store), tables(crash_store)
        for name in clean_tables:
            assert crash_tables[name] == clean_tables[name], f"{name} differs (seed {seed}, kills at {moments})"

        keys = expected_keys(crash_store)
        delivered = receiver.delivered()
        assert set(delivered) == keys, "an alert was lost or one never emitted was posted"
        assert receiver.signed()
        # A repeat is only a delivery the receiver accepted while the worker died before
        # recording it: same key, same body, same signature — safe to drop by key.
        bodies: dict[str, set[bytes]] = {}
        for p in receiver.posts:
            bodies.setdefault(p.key, set()).add(p.body)
        assert all(len(b) == 1 for b in bodies.values())
        repeats = Counter({k: n - 1 for k, n in delivered.items() if n > 1})
        print(f"seed {seed}; kills at {moments} s; clean run {clean_s:.0f} s, final run {final_s:.0f} s; "
              f"{len(keys)} alert messages, {sum(repeats.values())} repeated POSTs; posts before each kill "
              f"{accepted_before}")
        assert sum(repeats.values()) <= 5 * DELIVERY_CHUNK, "a kill repeated more than one unrecorded chunk"
