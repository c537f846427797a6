"""The same file gives the same tables whatever the batch size (issue: timers in record order).

Dossier A (a certificate exchange, 5 working days) is received Mon 4/3/2024 09:00: due
Mon 11/3 09:00, its breach at 00:00 Tue 12/3. Its neighbours in the same partition move
that partition's stream time on to 15/3; then A's `concluded` of Fri 8/3 10:00 arrives,
days late. Record by record, the breach fires as soon as the watermark passes it and the
late `concluded` retracts it; before, a batch holding both applied the `concluded` first
and the breach never fired, so the `alerts` table depended on where batches fell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stream_app.kafka.producer import partition_of
from tests.integration.helpers import run, snapshot, write_jsonl

pytestmark = pytest.mark.integration

A = "000.22.31.H53-240304-0001"
UNIT = "000.22.31.H53"


def neighbours(n: int) -> list[str]:
    """Dossier codes in A's partition (4 partitions, Kafka's default partitioner)."""
    want = partition_of(A.encode(), 4)
    found = (f"000.22.31.H53-2403{d:02d}-{i:04d}" for d in range(5, 16) for i in range(100))
    return [c for c in found if partition_of(c.encode(), 4) == want][:n]


def lines() -> list[dict[str, Any]]:
    def ev(n: str, kind: str, dossier: str, at: str, **own: Any) -> dict[str, Any]:
        return {"event_id": n, "event_type": kind, "dossier_id": dossier, "occurred_at": f"{at}+07:00",
                "agency_code": UNIT, **own}

    out = [ev("a1", "received", A, "2024-03-04T09:00:00", procedure_code="1.012713")]
    for i, (d, day) in enumerate(zip(neighbours(6), (5, 8, 11, 12, 13, 15))):
        out.append(ev(f"n{i}", "received", d, f"2024-03-{day:02d}T09:00:00", procedure_code="1.012713"))
    out.append(ev("a2", "concluded", A, "2024-03-08T10:00:00", outcome="approved"))  # days late
    return out


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_every_table_is_the_same_for_any_batch_size(tmp_path: Path, batch_size: int):
    path = write_jsonl(tmp_path / "late.jsonl", lines())
    run(path, tmp_path / "default")
    run(path, tmp_path / "small", batch_size=batch_size)

    assert snapshot(tmp_path / "small") == snapshot(tmp_path / "default")
    breach = [r for r in snapshot(tmp_path / "default")["alerts"] if r[1] == "sla_breach" and r[2] == A]
    assert [(r[1], r[-2]) for r in breach] == [("sla_breach", True)]  # fired, then retracted by the late event
