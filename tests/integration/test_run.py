"""`dossier-stream run` through the real embedded broker, Faust and chDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.helpers import query, run, snapshot, write_jsonl

pytestmark = pytest.mark.integration

D1 = "000.22.31.H53-240304-0001"
D2 = "000.22.31.H53-240304-0002"
OFFICE = "000.22.31.H53"
BRANCH = "001.22.31.H53"


def ev(eid: str, kind: str, dossier: str, at: str, **own: object) -> dict[str, object]:
    return {"event_id": eid, "event_type": kind, "dossier_id": dossier, "occurred_at": at,
            "agency_code": own.pop("agency_code", OFFICE), **own}


SAMPLE = [
    ev("a1", "received", D1, "2024-03-04T09:00:00+07:00", procedure_code="1.012711", channel="direct",
       applicant_name="Nguyễn Văn A", phone="0900000000"),
    ev("b1", "received", D2, "2024-03-04T10:00:00+07:00", procedure_code="1.012713"),
    "this is not json",
    ev("a2", "transferred", D1, "2024-03-05T09:00:00+07:00", to_unit=BRANCH),
    ev("a2", "transferred", D1, "2024-03-05T09:00:00+07:00", to_unit=BRANCH),  # duplicate
    ev("b2", "concluded", D2, "2024-03-06T09:00:00+07:00", outcome="approved"),
    ev("b3", "result_attached", D2, "2024-03-06T10:00:00+07:00", document_ref="KQ-1", signed=True),
    ev("x1", "received", "X-1", "2024-03-06T11:00:00", procedure_code="1.012711"),  # naive
    ev("x2", "tick", "X-1", "2024-03-06T11:00:00+07:00"),
    ev("z1", "concluded", "NEVER-RECEIVED", "2024-03-06T11:00:00+07:00", outcome="approved"),
    ev("b4", "transferred", D2, "2024-03-07T09:00:00+07:00", to_unit=BRANCH),  # after concluded
    ev("a3", "supplement_requested", D1, "2024-03-20T09:00:00+07:00"),
]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("sample")
    path = write_jsonl(tmp / "sample.jsonl", SAMPLE)
    store = tmp / "store"
    summary = run(path, store)
    return path, store, summary


def test_valid_events_land_once_in_events(sample_run):
    _, store, _ = sample_run
    rows = query(store, "SELECT event_id, event_type FROM dossier.events FINAL ORDER BY event_id")
    assert rows == [("a1", "received"), ("a2", "transferred"), ("a3", "supplement_requested"),
                    ("b1", "received"), ("b2", "concluded"), ("b3", "result_attached")]


def test_bad_lines_land_in_dead_letters_with_code_and_line(sample_run):
    _, store, _ = sample_run
    rows = query(store, "SELECT source, error_code FROM dossier.dead_letters FINAL ORDER BY source")
    assert rows == [
        ("sample.jsonl:10", "unknown_dossier"),
        ("sample.jsonl:11", "invalid_transition"),
        ("sample.jsonl:3", "invalid_json"),
        ("sample.jsonl:8", "naive_timestamp"),
        ("sample.jsonl:9", "unknown_event_type"),
    ]
    raw = query(store, "SELECT raw FROM dossier.dead_letters FINAL WHERE source = 'sample.jsonl:3'")
    assert raw == [("this is not json",)]


def test_summary_counts_add_up(sample_run):
    _, _, summary = sample_run
    assert summary.records == 12
    assert summary.stats["applied"] == 6
    assert summary.stats["duplicates"] == 1
    assert sum(v for k, v in summary.stats.items() if k.startswith("dead_letter.")) == 5


def test_personal_fields_are_never_stored(sample_run):
    _, store, _ = sample_run
    dump = repr(snapshot(store))
    assert "Nguyễn Văn A" not in dump and "0900000000" not in dump


def test_dossier_state_follows_the_rules(sample_run):
    _, store, _ = sample_run
    rows = query(store, "SELECT dossier_id, status, current_unit, due_at, classification, result_attached_at "
                        "FROM dossier.dossier_state FINAL ORDER BY dossier_id")
    (d1, d2) = rows
    # D1: 8 working days from Mon 04/03 09:00 -> Thu 14/03 09:00; still open on 20/03 -> breach fired.
    assert d1[:3] == (D1, "paused", BRANCH)
    assert d1[3] is None  # null while paused
    assert d1[4] == "open_overdue"
    # D2: 5 working days from Mon 04/03 10:00 -> Mon 11/03 10:00; concluded 06/03 -> early.
    assert d2[:3] == (D2, "finished", OFFICE)
    assert d2[3].isoformat() == "2024-03-11T10:00:00+07:00"
    assert d2[4] == "early"
    assert d2[5].isoformat() == "2024-03-06T10:00:00+07:00"


def test_alerts_fire_on_event_time_with_vietnamese_messages(sample_run):
    _, store, _ = sample_run
    rows = query(store, "SELECT kind, dossier_id, fires_at, message FROM dossier.alerts FINAL ORDER BY fires_at")
    kinds = [(k, d, f.isoformat()) for k, d, f, _ in rows]
    assert kinds == [
        ("sla_warning", D1, "2024-03-13T09:00:00+07:00"),
        ("sla_breach", D1, "2024-03-15T00:00:00+07:00"),
    ]
    assert "quá hạn" in rows[1][3] and D1 in rows[1][3]


def test_a_second_run_of_the_same_file_changes_nothing(sample_run, tmp_path):
    path, store, _ = sample_run
    before = snapshot(store)
    again = run(path, store)
    assert again.stats.get("applied", 0) == 0
    assert snapshot(store) == before


def test_as_of_fires_timers_up_to_the_given_time(tmp_path):
    path = write_jsonl(tmp_path / "f.jsonl", SAMPLE[:2])
    store = tmp_path / "store"
    run(path, store, as_of=datetime.fromisoformat("2024-03-15T08:00:00+07:00"))
    rows = query(store, "SELECT kind, dossier_id FROM dossier.alerts FINAL ORDER BY fires_at, kind")
    # D1 (due 14/03 09:00): warning 13/03 09:00, breach end of 14/03; D2 (due 11/03 10:00) likewise.
    assert rows == [("sla_warning", D2), ("sla_breach", D2), ("sla_warning", D1), ("sla_breach", D1)]
