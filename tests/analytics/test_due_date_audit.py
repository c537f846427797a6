"""The due-date audit: the provincial system's promised date against the legal due time (issue 21)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.report import make_report
from stream_app.report.letter import load_config
from stream_app.domain.calendar import WorkingCalendar
from stream_app.store.client import connect
from tests.integration.helpers import query, run, write_jsonl

pytestmark = pytest.mark.integration

UNIT = "004.22.31.H53"


def received(n: int, promised: str | None) -> dict:
    e = {"event_id": f"r{n}", "event_type": "received", "dossier_id": f"{UNIT}-240304-000{n}",
         "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": UNIT, "procedure_code": "1.012713"}
    return e | ({"source_due_at": promised} if promised else {})


def concluded(n: int, at: str) -> dict:
    return {"event_id": f"c{n}", "event_type": "concluded", "dossier_id": f"{UNIT}-240304-000{n}", "occurred_at": at,
            "agency_code": UNIT, "outcome": "approved"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exchange of a certificate: 5 working days, received Mon 04/03 09:00, legally due Mon 11/03 09:00."""
    folder = tmp_path_factory.mktemp("audit")
    path = write_jsonl(folder / "e.jsonl", [
        received(1, "2024-03-13T09:00:00+07:00"), concluded(1, "2024-03-12T10:00:00+07:00"),  # promised late: hidden
        received(2, "2024-03-08T09:00:00+07:00"), concluded(2, "2024-03-11T08:00:00+07:00"),  # promised early
        received(3, "2024-03-11T16:00:00+07:00"), concluded(3, "2024-03-11T15:00:00+07:00"),  # same day
        received(4, None), concluded(4, "2024-03-06T10:00:00+07:00"),  # no promise
    ])
    run(path, folder / "store", as_of=__import__("datetime").datetime.fromisoformat("2024-03-31T23:00:00+07:00"))
    return folder / "store"


def test_each_dossier_is_set_against_its_promise(store: Path):
    rows = query(store, "SELECT dossier_id, promise, promise_days, classification, portal_classification "
                        "FROM dossier.due_date_audit ORDER BY dossier_id")
    assert [r[1:] for r in rows] == [
        ("later", 2, "overdue", "early"),
        ("earlier", -3, "on_time", "overdue"),
        ("same", 0, "on_time", "on_time"),
        ("unknown", None, "early", ""),
    ]


def test_the_report_counts_overdue_both_ways_and_lists_the_dossier_late_by_law_only(store: Path):
    client = connect(f"chdb://{store}")
    try:
        catalog = Catalog.load()
        report = make_report(client, "dossier", date(2024, 3, 1), None, calendar=WorkingCalendar.load(),
                             directory=Directory.load(catalog), remedies=load_config(None).remedies)
    finally:
        client.close()
    (audit,) = [s for s in report.sections if s.title.startswith("VI. Đối chiếu ngày hẹn trả")]
    note, figures, listed = audit.blocks
    assert figures.rows[-1] == ["Cộng", 3, 1, 1, 1, 0, 0, 1, 1]
    assert [row[0] for row in listed.rows] == [f"{UNIT}-240304-0001"]
