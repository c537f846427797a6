"""Correct with several workers: two workers share the partitions of one store, and the
page served by one of them shows what the other wrote (every figure is read from
ClickHouse). A module of its own: chDB opens one store per process at a time, so this
test must not overlap the module-scoped worker of another module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stream_app.kafka.broker import EmbeddedBroker
from tests.integration.helpers import assigned, recorded_stacks, until
from tests.web.conftest import C, Client, LiveWorker, copy_store

pytestmark = pytest.mark.integration


def units(client: Client) -> dict[str, dict[str, int]]:
    return {u["unit"]: u for u in client.get_json("/api/live")["units"]}


def test_with_two_workers_the_page_shows_what_both_wrote(
    crafted_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    """Two workers share the partitions; the one serving the page shows the other's dossiers too."""
    store = copy_store(crafted_store, tmp_path / "store")
    stacks = recorded_stacks(monkeypatch)
    with EmbeddedBroker() as broker:
        serving = LiveWorker(store, broker.bootstrap).start()
        other = LiveWorker(store, broker.bootstrap, web=False).start()
        try:
            until(lambda: len(stacks) == 2 and all(len(assigned(s)) == 2 for s in stacks))
            web_stack, other_stack = stacks if stacks[0].settings.web_enabled else stacks[::-1]
            new = [f"{C}-231130-{i:04d}" for i in range(1, 9)]
            held_by_other = {d for d in new if web_stack.processor.partition_of(d) in assigned(other_stack)}
            assert held_by_other and held_by_other != set(new)
            serving.produce([
                {"event_id": f"{d}:1", "event_type": "received", "dossier_id": d, "occurred_at": "2023-11-30T17:00:00+07:00",
                 "agency_code": C, "procedure_code": "1.012713"} for d in new])
            client = serving.client()
            until(lambda: units(client).get(C, {}).get("open") == 1 + len(new))
            assert held_by_other.isdisjoint(web_stack.processor.dossier_ids())
            assert held_by_other <= other_stack.processor.dossier_ids()
            found = client.get_json(f"/api/dossier?code={min(held_by_other)}")
            assert found["found"] and found["events"][0]["type"] == "received"
        finally:
            other.close()
            serving.close()
