"""The benchmark harness runs end to end on a tiny input, so it never rots.

Every measurement of `python -m bench.run` runs once on a few hundred events and
small stores; the test checks that each produced its figures and that the
performance page was written between its markers. No timing is asserted: a
loaded machine must not fail the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.page import BEGIN, END
from bench.run import main

pytestmark = pytest.mark.integration


def test_the_harness_measures_everything_on_a_tiny_run(tmp_path: Path):
    doc, results = tmp_path / "performance.md", tmp_path / "results.json"
    doc.write_text(f"# Performance\n\nHand-written.\n\n{BEGIN}\nold\n{END}\n\nMore by hand.\n", encoding="utf-8")

    assert main([
        "--events", "300", "--live-events", "6", "--live-spread", "1", "--live-tax-limit", "0.00005",
        "--open-dossiers", "2000", "--trace-dossiers", "500", "--restore-dossiers", "1000",
        "--report-events", "20000", "--out", str(doc), "--json", str(results), "--workdir", str(tmp_path / "work"),
    ]) == 0

    r = json.loads(results.read_text(encoding="utf-8"))
    throughput = r["throughput"]
    assert [throughput[k]["events"] for k in ("ceiling", "peer", "end_to_end")] == [300, 300, 300]
    assert throughput["end_to_end"]["rows"]["events"] > 0
    assert throughput["end_to_end"]["peak_rss_bytes"] > 0
    assert {r["live"][k]["n"] for k in ("event_to_alert", "event_to_alert_source_delayed_2s")} == {3}
    assert r["live"]["timer_to_alert_emitted"]["n"] == 6
    assert r["memory"]["dossiers"] == 2000 and r["memory"]["store_rows"]["dossier_state"] == 1000
    assert r["memory_trace"]["top_allocations"]
    assert r["restore"]["dossiers"] == 1000
    assert r["monthly_report"]["events"] == 20000 and r["monthly_report"]["unit_rows"] > 0
    assert len(r["targets"]) == 10
    assert r["scale_out"]["events"] == 300 and r["scale_out"]["workers_2"]["workers"] == 2
    assert r["feed"]["events"] == 300 and r["feed"]["feed_over_bare"] > 0

    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nHand-written.") and text.endswith("More by hand.\n")
    assert "old" not in text and "| target | aim | measured | met |" in text
