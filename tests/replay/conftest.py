"""Shared by the replay tests: one small province and its uninterrupted replay into a store."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stream_app.jobs.replay import ReplayResult, embedded
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.replay.feed import FileFeed
from stream_app.replay.generate import generate
from stream_app.replay.pace import Pacer
from stream_app.replay.resume import Checkpoint
from stream_app.settings import Settings
from tests.integration.helpers import settings_for

# A quick group join on the embedded broker (docs/platform.md: Tansu holds a JoinGroup for
# about half the session timeout): ~3.5 s to the first event instead of ~5 s.
FAST_GROUP = {"session_timeout_s": 3.0, "heartbeat_interval_s": 1.0}


def store_settings(store: Path, **kw: Any) -> Settings:
    return settings_for(store, **{**FAST_GROUP, **kw})


def embedded_replay(settings: Settings, path: Path, checkpoint: Checkpoint, **kw: Any) -> ReplayResult:
    """A replay through the in-process worker on a fresh embedded broker, at max speed."""
    with EmbeddedBroker() as b:
        return asyncio.run(embedded(settings, FileFeed(path), bootstrap=b.bootstrap, pacer=Pacer(None),
                                    checkpoint=checkpoint, **kw))


@pytest.fixture(scope="package")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.jsonl"
    generate(path, months=1, seed=11, dossiers_per_month=60, start=date(2024, 1, 1))
    return path


@pytest.fixture(scope="package")
def replayed(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store after one uninterrupted replay of `province`."""
    tmp = tmp_path_factory.mktemp("whole")
    cp = Checkpoint.open(tmp, "whole", "k", source="s", fingerprint="", resume=False)
    result = embedded_replay(store_settings(tmp / "store"), province, cp)
    assert result.complete
    return tmp / "store"
