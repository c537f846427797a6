"""Checkpoints: an unbroken prefix of done records, saved atomically, discarded when the source changed."""

from __future__ import annotations

import json
from pathlib import Path

from stream_app.replay.resume import Checkpoint, Ledger, Sent, checkpoint_key


class Done:
    """A stand-in for a kafka-python future: done or not, set by the test."""

    def __init__(self) -> None:
        self.is_done = False

    def failed(self) -> bool:
        return False


def test_the_position_moves_only_over_an_unbroken_run_of_done_records():
    ledger, futures = Ledger(), [Done() for _ in range(4)]
    for n, f in enumerate(futures, start=1):
        ledger.add(Sent(n, f"f:{n}", f))
    futures[0].is_done = futures[2].is_done = True
    assert ledger.advance(lambda s: s.future.is_done) == (1, 1)
    futures[1].is_done = True
    assert ledger.advance(lambda s: s.future.is_done) == (3, 2)
    assert ledger.advance(lambda s: s.future.is_done) is None
    assert len(ledger) == 1


def test_a_saved_checkpoint_is_found_again_when_resuming(tmp_path: Path):
    cp = Checkpoint.open(tmp_path, "p.jsonl", "k1", source="file:/p.jsonl", fingerprint="10:1", resume=True)
    assert not cp.resumed
    cp.position, cp.done = 120, 118
    cp.save()
    again = Checkpoint.open(tmp_path, "p.jsonl", "k1", source="file:/p.jsonl", fingerprint="10:1", resume=True)
    assert (again.position, again.done, again.resumed) == (120, 118, True)
    assert json.loads(again.path.read_text())["position"] == 120
    assert not list(tmp_path.glob("*.tmp"))


def test_without_resume_a_replay_starts_from_the_beginning(tmp_path: Path):
    cp = Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="f", resume=False)
    cp.position = 5
    cp.save()
    assert Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="f", resume=False).position is None


def test_a_changed_source_starts_from_the_beginning(tmp_path: Path):
    cp = Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="10:1", resume=True)
    cp.position = 5
    cp.save()
    assert Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="11:2", resume=True).position is None


def test_an_unreadable_checkpoint_starts_from_the_beginning(tmp_path: Path):
    cp = Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="f", resume=True)
    cp.path.write_text("{not json")
    assert Checkpoint.open(tmp_path, "p.jsonl", "k1", source="s", fingerprint="f", resume=True).position is None


def test_the_key_depends_on_source_selection_and_target():
    base = {"source": "file:/p", "selection": {"since": None}, "target": {"broker": "k:9092"}}
    assert checkpoint_key(**base) == checkpoint_key(**dict(base))
    assert checkpoint_key(**base) != checkpoint_key(**{**base, "selection": {"since": "2024-01-01"}})
    assert checkpoint_key(**base) != checkpoint_key(**{**base, "target": {"broker": "other:9092"}})
