"""A valid record whose processing raises (a bug, an unforeseen combination) is set aside,
not the stream: it becomes a `processing_error` dead letter, its dossier's later events
follow it there, its timers fall silent, and every other dossier's rows are those of a
run without the fault.
"""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from stream_app.domain.history import DossierHistory
from tests.core.builders import TRANSFER, event, received, t
from tests.core.conftest import Driver
from tests.core.strategies import tables

POISONED = "000.22.31.H53-240304-0002"
OTHERS = ["000.22.31.H53-240304-0001", "000.22.31.H53-240304-0003"]


def story() -> list[dict[str, Any]]:
    out = []
    for d in [OTHERS[0], POISONED, OTHERS[1]]:
        out += [received("2024-03-04 09:00", TRANSFER, d, event_id=f"{d}:1"),
                event("transferred", "2024-03-05 09:00", d, to_unit="001.22.31.H53", event_id=f"{d}:2"),
                event("sent_to_tax", "2024-03-06 09:00", d, tax_office="CCT-TN", event_id=f"{d}:3")]
    return sorted(out, key=lambda e: (e["occurred_at"], e["event_id"]))


def poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on History.add raises for the transfer of one dossier, as a bug would."""
    real = DossierHistory.add

    def add(self: DossierHistory, ev: Any, rules: Any) -> Any:
        if ev.dossier_id == POISONED and ev.event_type == "transferred":
            raise ZeroDivisionError("a bug in the state machine")
        return real(self, ev, rules)

    monkeypatch.setattr(DossierHistory, "add", add)


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> None:
    poison(monkeypatch)


def only(rows: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {
        "events": [r for r in rows["events"] if r[1] in keep],
        "dead_letters": rows["dead_letters"],
        "dossier_state": {d: r for d, r in rows["dossier_state"].items() if d in keep},
        "alerts": {a: r for a, r in rows["alerts"].items() if r["dossier_id"] in keep},
    }


def run(d: Driver) -> Driver:
    d.push(*story())
    d.finish(t("2024-03-20 12:00"))
    return d


def test_the_failing_record_and_its_dossiers_later_events_become_processing_errors(make_driver, faulty):
    d = run(make_driver())

    dead = d.dead_letters()
    assert [(r["error_code"], r["source"]) for r in dead] == [("processing_error", "f.jsonl:5"),
                                                              ("processing_error", "f.jsonl:8")]
    assert d.stats["dead_letter.processing_error"] == 2 and d.stats["set_aside"] == 1
    assert "ZeroDivisionError in" in dead[0]["error_detail"] and "dossier-stream rebuild" in dead[0]["error_detail"]
    assert POISONED not in dead[0]["error_detail"] and "001.22.31.H53" not in dead[0]["error_detail"]


def test_every_other_dossier_is_untouched(make_driver, monkeypatch):
    clean = tables(run(make_driver()))
    poison(monkeypatch)
    poisoned = tables(run(make_driver()))

    keep = set(OTHERS)
    assert only(poisoned, keep) | {"dead_letters": []} == only(clean, keep) | {"dead_letters": []}
    # The dossier set aside keeps the rows it had before its failing record, and fires nothing more.
    assert poisoned["dossier_state"][POISONED]["current_unit"] == "000.22.31.H53"
    assert not [a for a in poisoned["alerts"].values() if a["dossier_id"] == POISONED]


def test_the_error_is_logged_once_with_the_dossier_and_the_source(make_driver, faulty):
    with structlog.testing.capture_logs() as logs:
        run(make_driver())
    errors = [e for e in logs if e["event"] == "processing.error"]
    assert [(e["dossier_id"], e["source"], e["error"]) for e in errors] == [
        (POISONED, "f.jsonl:5", "ZeroDivisionError")]


def test_a_restarted_processor_keeps_the_dossier_aside(make_driver, faulty):
    d = make_driver(set_aside=[POISONED])
    out = d.push(received("2024-03-04 09:00", TRANSFER, POISONED, event_id="again"))
    assert [r[3] for r in out.dead_letters] == ["processing_error"]
    assert d.processor.history(POISONED) is None
