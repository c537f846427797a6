"""`dossier-stream replay`: selection, pace, per-dossier order and resume, on the real broker and chDB."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from stream_app.cli import main
from stream_app.jobs.replay import embedded, to_cluster
from stream_app.kafka.admin import ensure_topics
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.replay.export import Selection
from stream_app.replay.feed import FileFeed
from stream_app.replay.pace import Pacer
from stream_app.replay.resume import Checkpoint
from stream_app.settings import Settings
from tests.integration.helpers import snapshot, write_jsonl
from tests.replay.conftest import FAST_GROUP, embedded_replay, store_settings

T0 = datetime.fromisoformat("2024-03-04T08:00:00+07:00")
OFFICE, BRANCH = "000.22.31.H53", "001.22.31.H53"


def ev(eid: str, kind: str, dossier: str, at: datetime, agency: str = OFFICE, **own: Any) -> dict[str, Any]:
    return {"event_id": eid, "event_type": kind, "dossier_id": dossier, "occurred_at": at.isoformat(),
            "agency_code": agency, **own}


def two_hours(n_dossiers: int = 5, steps: int = 4) -> list[dict[str, Any]]:
    """Events spread evenly over exactly two hours of event time, dossiers interleaved."""
    out, total = [], n_dossiers * steps
    for i in range(total):
        d, step = i % n_dossiers, i // n_dossiers
        at = T0 + timedelta(hours=2) * i / (total - 1)
        out.append(ev(f"D{d}:{step}", "received" if step == 0 else "transferred", f"D{d}", at,
                      **({"procedure_code": "1.012713"} if step == 0 else {"to_unit": BRANCH})))
    return out


def topic_values(bootstrap: str, topic: str, expected: int, partitions: int = 4) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of every record, read with manual assignment until `expected` arrived."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=200)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out: list[tuple[int, bytes, bytes]] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend((r.partition, r.key, r.value) for r in records)
    finally:
        consumer.close()
    return out


@pytest.fixture()
def broker() -> Any:
    with EmbeddedBroker() as b:
        ensure_topics(b.bootstrap, Settings())
        yield b


def cluster_replay(feed: FileFeed, bootstrap: str, checkpoint: Checkpoint, speed: float | None = None,
                   **kw: Any) -> Any:
    return to_cluster(feed, bootstrap=bootstrap, topic="dossier.events", pacer=Pacer(speed),
                      checkpoint=checkpoint, **kw)


# ---------------------------------------------------------------- selection
def test_since_until_and_unit_select_whole_dossiers(tmp_path: Path):
    events = two_hours() + [ev("B0:0", "received", "B0", T0 + timedelta(minutes=30), agency=BRANCH,
                                procedure_code="1.012713")]
    path = write_jsonl(tmp_path / "e.jsonl", events)
    window = Selection(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=1))
    times = [it.occurred_at for it in FileFeed(path, window).items()]
    assert times and all(window.since <= t < window.until for t in times)
    assert {it.key for it in FileFeed(path, Selection(units=(BRANCH,))).items()} == {b"B0"}


def test_a_selection_skips_and_counts_unreadable_lines(tmp_path: Path):
    path = write_jsonl(tmp_path / "e.jsonl", [two_hours()[0], "not json", '{"dossier_id": "D9"}'])
    feed = FileFeed(path, Selection(since=T0))
    assert [it.position for it in feed.items()] == [1]
    assert feed.skipped == 2
    assert [it.position for it in FileFeed(path).items()] == [1, 2, 3]  # no selection: the worker reports them


def test_resume_skips_what_the_checkpoint_covers(tmp_path: Path):
    path = write_jsonl(tmp_path / "e.jsonl", two_hours())
    assert [it.position for it in FileFeed(path).items(after=17)] == [18, 19, 20]


# ---------------------------------------------------------------- cluster
def test_a_compressed_replay_takes_the_span_divided_by_the_speed(tmp_path: Path, broker: EmbeddedBroker):
    """Two hours of events at ×3600 take about 2 s; at max, a fraction of that."""
    path = write_jsonl(tmp_path / "e.jsonl", two_hours())
    sent: list[float] = []
    cp = Checkpoint.open(tmp_path, "e", "paced", source="s", fingerprint="", resume=False)
    result = cluster_replay(FileFeed(path), broker.bootstrap, cp, speed=3600,
                            on_progress=lambda *_: sent.append(time.monotonic()))
    span = sent[-1] - sent[0]
    assert result.complete and result.sent == 20
    assert 1.95 <= span <= 3.0, span  # never early; generous for a loaded 2-core machine
    cp = Checkpoint.open(tmp_path, "e", "max", source="s", fingerprint="", resume=False)
    t0 = time.monotonic()
    cluster_replay(FileFeed(path), broker.bootstrap, cp)
    assert time.monotonic() - t0 < 1.5


def test_a_dossiers_events_keep_their_order_in_one_partition(tmp_path: Path, broker: EmbeddedBroker):
    path = write_jsonl(tmp_path / "e.jsonl", two_hours(n_dossiers=7, steps=6))
    cp = Checkpoint.open(tmp_path, "e", "order", source="s", fingerprint="", resume=False)
    cluster_replay(FileFeed(path), broker.bootstrap, cp)
    records = topic_values(broker.bootstrap, "dossier.events", 42)
    by_dossier: dict[bytes, list[tuple[int, str]]] = {}
    for partition, key, value in records:
        by_dossier.setdefault(key, []).append((partition, orjson.loads(value)["event_id"]))
    assert len(by_dossier) == 7
    for key, seq in by_dossier.items():
        assert len({p for p, _ in seq}) == 1
        assert [e for _, e in seq] == [f"{key.decode()}:{s}" for s in range(6)]


def test_an_interrupted_cluster_replay_resumes_after_the_last_acknowledged_record(
        tmp_path: Path, broker: EmbeddedBroker):
    path = write_jsonl(tmp_path / "e.jsonl", two_hours(n_dossiers=10, steps=10))
    stop = threading.Event()

    def interrupt(stage: str, done: int, total: Any, at: Any) -> None:
        if done == 40:
            stop.set()

    first = Checkpoint.open(tmp_path, "e", "k", source="s", fingerprint="", resume=True)
    r1 = cluster_replay(FileFeed(path), broker.bootstrap, first, stop=stop, on_progress=interrupt)
    assert not r1.complete and r1.done == 40
    again = Checkpoint.open(tmp_path, "e", "k", source="s", fingerprint="", resume=True)
    assert again.position == 40
    r2 = cluster_replay(FileFeed(path), broker.bootstrap, again)
    assert r2.complete and r2.sent == 60 and r2.done == 100
    ids = [orjson.loads(v)["event_id"] for _, _, v in topic_values(broker.bootstrap, "dossier.events", 100)]
    assert sorted(ids) == sorted(e["event_id"] for e in two_hours(n_dossiers=10, steps=10))


def test_a_record_too_large_for_kafka_is_skipped_and_counted_not_a_crash(tmp_path: Path, broker: EmbeddedBroker):
    events = two_hours(n_dossiers=1, steps=2)
    huge = orjson.dumps(events[0] | {"event_id": "huge", "applicant_name": "A" * 1_100_000}).decode()
    path = write_jsonl(tmp_path / "e.jsonl", [events[0], huge, events[1]])
    cp = Checkpoint.open(tmp_path, "e", "big", source="s", fingerprint="", resume=False)
    result = cluster_replay(FileFeed(path), broker.bootstrap, cp)
    assert result.complete and (result.sent, result.too_large) == (2, 1)
    assert [orjson.loads(v)["event_id"] for _, _, v in topic_values(broker.bootstrap, "dossier.events", 2)] == [
        "D0:0", "D0:1"]


# ---------------------------------------------------------------- embedded
@pytest.mark.integration
def test_resume_after_an_interruption_gives_the_tables_of_an_uninterrupted_replay(
        province: Path, replayed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Checkpoints every 50 ms: a few hundred records are processed in well under a second.
    monkeypatch.setattr("stream_app.jobs.replay.CHECKPOINT_EVERY_S", 0.05)
    split = store_settings(tmp_path / "split", batch_size=20)  # small batches: the interruption lands mid-way
    total = sum(1 for _ in FileFeed(province).items())
    stop = threading.Event()

    cp = Checkpoint.open(tmp_path, "s", "split", source="s", fingerprint="", resume=True)

    def interrupt(stage: str, n: int, _total: Any, _at: Any) -> None:
        if stage == "produce":
            time.sleep(0.005)  # a source slower than the worker: checkpoints move as records are processed
        # Once a third is processed and the checkpoint has moved: it follows the file's
        # order while the partitions are read a fetch at a time, so it may lag behind.
        elif n >= total // 3 and cp.position is not None:
            stop.set()

    first = embedded_replay(split, province, cp, stop=stop, on_progress=interrupt)
    assert not first.complete
    cp = Checkpoint.open(tmp_path, "s", "split", source="s", fingerprint="", resume=True)
    assert 0 < cp.position < total
    second = embedded_replay(split, province, cp)
    assert second.complete and second.resumed
    assert second.sent < total  # continued, did not resend everything
    assert snapshot(tmp_path / "split") == snapshot(replayed)


@pytest.mark.integration
def test_in_process_a_record_too_large_for_kafka_is_a_dead_letter_and_on_the_dlq(tmp_path: Path):
    events = two_hours(n_dossiers=1, steps=2)
    huge = orjson.dumps(events[0] | {"event_id": "huge", "applicant_name": "A" * 1_100_000}).decode()
    path = write_jsonl(tmp_path / "e.jsonl", [events[0], huge, events[1]])
    settings = store_settings(tmp_path / "store")
    cp = Checkpoint.open(tmp_path, "e", "big", source="s", fingerprint="", resume=False)
    with EmbeddedBroker() as b:
        result = asyncio.run(embedded(settings, FileFeed(path), bootstrap=b.bootstrap, pacer=Pacer(None),
                                      checkpoint=cp))
        dlq = topic_values(b.bootstrap, settings.dlq_topic, 1, partitions=settings.partitions)
    assert result.complete and (result.sent, result.too_large) == (2, 1)
    assert result.summary.records == 3
    assert result.stats["applied"] == 2 and result.stats["dead_letter.schema_error"] == 1
    assert [(len(v), v[:12]) for _, _, v in dlq] == [(64 * 1024, huge.encode()[:12])]
    rows = snapshot(tmp_path / "store")["dead_letters"]
    assert [(r[0], r[2]) for r in rows] == [("e.jsonl:2", "schema_error")]


def test_a_completed_replay_has_nothing_to_resume(tmp_path: Path, broker: EmbeddedBroker):
    path = write_jsonl(tmp_path / "e.jsonl", two_hours(n_dossiers=2, steps=2))
    args = ["replay", "--source", str(path), "--resume", "--no-progress", "--checkpoint-dir", str(tmp_path / "cp"),
            "--broker", broker.bootstrap, "--log-format", "json"]
    assert main(args) == 0
    [saved] = (tmp_path / "cp").glob("e.jsonl-*.json")
    state = orjson.loads(saved.read_bytes())
    assert state["complete"] and state["done"] == 4
    assert main(args) == 0
    assert orjson.loads(saved.read_bytes()) == state  # nothing sent again


# ---------------------------------------------------------------- as a user stops it
def _replay_process(province: Path, store: Path, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **{f"DOSSIER_{k.upper()}": str(v) for k, v in FAST_GROUP.items()}}
    cmd = [str(Path(sys.executable).with_name("dossier-stream")), "replay", "--source", str(province),
           "--no-progress", "--checkpoint-dir", str(tmp_path / "cp"), "--clickhouse", f"chdb://{store}",
           "--log-format", "json", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_progress(tmp_path: Path, proc: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        for f in (tmp_path / "cp").glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                if (orjson.loads(f.read_bytes()).get("position") or 0) >= at_least:
                    return
        time.sleep(0.2)
    raise AssertionError("the replay made no progress")


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_replay_stopped_or_killed_then_resumed_gives_the_tables_of_one_replay(
        province: Path, replayed: Path, tmp_path: Path, sig: int):
    """The command as a user runs it: paced, stopped (or killed -9) mid-way, then `--resume`."""
    store = tmp_path / "store"
    proc = _replay_process(province, store, tmp_path, "--speed", "400000")
    _wait_for_progress(tmp_path, proc, at_least=50)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
    resumed = _replay_process(province, store, tmp_path, "--resume")
    assert resumed.wait(timeout=120) == 0
    assert snapshot(store) == snapshot(replayed)
