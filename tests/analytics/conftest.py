"""One run of the crafted province through the real pipeline, shared by the analytics tests.

The run goes through the embedded broker, the Faust worker and chDB exactly as
`dossier-stream run` does (about 6 s), once per session. Tests then read the
store through `store_client`, which is closed at the end of each module: only
one chDB store may be open in a process at a time (docs/platform.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest

from stream_app.jobs.run import run_file
from stream_app.jobs.stack import kafka_bootstrap
from stream_app.settings import Settings
from stream_app.store.client import connect
from tests.analytics import crafted


@pytest.fixture(scope="session")
def crafted_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("analytics")
    path = crafted.write(root / "crafted.jsonl")
    settings = Settings(clickhouse=f"chdb://{root}/store", log_format="json", log_level="WARNING")
    with kafka_bootstrap(settings) as bootstrap:
        asyncio.run(run_file(settings, path, bootstrap=bootstrap, as_of=crafted.AS_OF))
    return settings


@pytest.fixture(scope="module")
def store_client(crafted_settings: Settings) -> Iterator[Any]:
    client = connect(crafted_settings.clickhouse.get_secret_value())
    try:
        yield client
    finally:
        client.close()
