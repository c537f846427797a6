"""The morning digest's sections, read from a real store after a real run (issue 22)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from stream_app.notify.digest import digest_rows, for_group
from stream_app.notify.recipients import TASK_FORCE
from stream_app.store.client import connect
from tests.integration.helpers import run, write_jsonl

pytestmark = pytest.mark.integration

BRANCH = "004.22.31.H53"


def _e(dossier: str, n: int, kind: str, at: str, **own: object) -> dict[str, object]:
    return {"event_id": f"{dossier}:{n}", "event_type": kind, "dossier_id": f"{BRANCH}-{dossier}",
            "occurred_at": at, "agency_code": BRANCH, **own}


EVENTS = [
    # 5 working days from Fri 24/11 10:00: due Fri 01/12 10:00, the digest's day.
    _e("231124-0001", 1, "received", "2023-11-24T10:00:00+07:00", procedure_code="1.012713"),
    # Due Mon 04/12, the next working day: warned today.
    _e("231127-0002", 1, "received", "2023-11-27T10:00:00+07:00", procedure_code="1.012713"),
    # Due 08/11: overdue.
    _e("231101-0003", 1, "received", "2023-11-01T10:00:00+07:00", procedure_code="1.012713"),
    # 25 working days, result attached on 22/11 and never concluded: left open after completion.
    _e("231120-0004", 1, "received", "2023-11-20T10:00:00+07:00", procedure_code="1.012718"),
    _e("231120-0004", 2, "result_attached", "2023-11-22T10:00:00+07:00", document_ref="KQ-4", signed=True),
    # Concluded on 22/11 without its electronic result: missing result.
    _e("231120-0005", 1, "received", "2023-11-20T10:00:00+07:00", procedure_code="1.012713"),
    _e("231120-0005", 2, "concluded", "2023-11-22T10:00:00+07:00", outcome="approved"),
    # Due later, finished in time: in no section.
    _e("231128-0006", 1, "received", "2023-11-28T10:00:00+07:00", procedure_code="1.012718"),
]


def test_each_section_lists_the_dossiers_that_need_the_unit_today(tmp_path: Path):
    store = tmp_path / "store"
    run(write_jsonl(tmp_path / "e.jsonl", EVENTS), store, as_of=datetime.fromisoformat("2023-12-01T07:00:00+07:00"))
    client = connect(f"chdb://{store}")
    try:
        rows = digest_rows(client, "dossier", date(2023, 12, 1), date(2023, 12, 4))
    finally:
        client.close()
    assert {s: [r["dossier_id"][len(BRANCH) + 1:] for r in found] for s, found in rows.items()} == {
        "due_today": ["231124-0001"],
        "warned": ["231127-0002"],
        "overdue": ["231101-0003"],
        "open_after_completion": ["231120-0004"],
        "missing_result": ["231120-0005"],
    }
    branch = for_group(rows, BRANCH, date(2023, 12, 1), datetime.fromisoformat("2023-12-01T07:00:00+07:00"))
    assert branch["sections"]["due_today"]["dossiers"][0]["due_at"] == "2023-12-01T10:00:00.000+07:00"
    other = for_group(rows, "001.22.31.H53", date(2023, 12, 1), datetime.fromisoformat("2023-12-01T07:00:00+07:00"))
    assert all(v["count"] == 0 for v in other["sections"].values())
    force = for_group(rows, TASK_FORCE, date(2023, 12, 1), datetime.fromisoformat("2023-12-01T07:00:00+07:00"))
    assert force["by_unit"] == {BRANCH: dict.fromkeys(rows, 1)}
