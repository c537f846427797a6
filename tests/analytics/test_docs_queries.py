"""Every SQL query in docs/analytics.md runs, as printed, on a store written by the pipeline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.crafted import NOV, OCT, A

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_a_dozen_ready_queries() -> None:
    assert len(QUERIES) >= 12


@pytest.mark.parametrize("sql", QUERIES, ids=[f"q{i}" for i in range(1, len(QUERIES) + 1)])
def test_documented_query_runs(store_client: Any, sql: str) -> None:
    rows = 0
    for month in (OCT, NOV):
        params = {name: value for name, value in {"month": month, "unit": A}.items() if f"{{{name}:" in sql}
        rows += len(store_client.query(sql, parameters=params).result_rows)
    if "dead_letters" not in sql and "late_extension" not in sql:  # the crafted file has none of these
        assert rows > 0, "the query found nothing in the crafted province"
