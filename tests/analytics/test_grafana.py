"""The provisioned Grafana dashboard: valid JSON, wired to the provisioned data source,
and every panel's SQL runs on chDB once the ClickHouse plugin's macros are expanded."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "dashboards" / "dossier-overview.json"
DATASOURCE = ROOT / "grafana" / "provisioning" / "datasources" / "clickhouse.yaml"
PROVIDER = ROOT / "grafana" / "provisioning" / "dashboards" / "dossier-stream.yaml"
PLUGIN = "grafana-clickhouse-datasource"

# The crafted province spans October and November 2023; a panel range around it.
FROM = datetime(2023, 9, 1, tzinfo=timezone.utc)
TO = datetime(2023, 12, 31, tzinfo=timezone.utc)
INTERVAL_S = 3600


def expand_macros(sql: str, start: datetime = FROM, end: datetime = TO, interval_s: int = INTERVAL_S) -> str:
    """What grafana-clickhouse-datasource (v4, pkg/macros) sends to ClickHouse."""
    f, t = int(start.timestamp()), int(end.timestamp())
    with_args = {
        "timeFilter": lambda c: f"{c} >= toDateTime({f}) AND {c} <= toDateTime({t})",
        "timeFilter_ms": lambda c: f"{c} >= fromUnixTimestamp64Milli({f * 1000}) AND {c} <= fromUnixTimestamp64Milli({t * 1000})",
        "dateFilter": lambda c: f"{c} >= toDate('{start:%Y-%m-%d}') AND {c} <= toDate('{end:%Y-%m-%d}')",
        "timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {interval_s} second)",
        "timeInterval_ms": lambda c: f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {interval_s * 1000} millisecond)",
    }
    plain = {
        "fromTime_ms": f"fromUnixTimestamp64Milli({f * 1000})", "toTime_ms": f"fromUnixTimestamp64Milli({t * 1000})",
        "fromTime": f"toDateTime({f})", "toTime": f"toDateTime({t})", "interval_s": str(interval_s),
    }
    out, i = [], 0
    for m in re.finditer(r"\$__(\w+)", sql):
        if m.start() < i:
            continue
        name = m.group(1)
        out.append(sql[i:m.start()])
        if name in with_args and sql[m.end():m.end() + 1] == "(":
            depth, j = 0, m.end()
            while True:  # the argument may itself contain parentheses
                depth += {"(": 1, ")": -1}.get(sql[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append(with_args[name](sql[m.end() + 1:j].strip()))
            i = j + 1
        elif name in plain:
            out.append(plain[name])
            i = m.end()
        else:
            raise AssertionError(f"macro $__{name} is not one the plugin knows")
    out.append(sql[i:])
    return "".join(out)


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def targets() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p['id']}-{t['refId']}", t) for p in load_dashboard()["panels"] for t in p.get("targets", [])]


def test_expand_macros_like_the_plugin() -> None:
    sql = "WHERE $__timeFilter(toDateTime(month)) AND x > $__fromTime AND $__dateFilter(d)"
    assert expand_macros(sql) == (
        "WHERE toDateTime(month) >= toDateTime(1693526400) AND toDateTime(month) <= toDateTime(1703980800)"
        " AND x > toDateTime(1693526400) AND d >= toDate('2023-09-01') AND d <= toDate('2023-12-31')"
    )


def test_dashboard_has_the_panels_analysts_need() -> None:
    dash = load_dashboard()
    assert dash["uid"] == "dossier-overview" and dash["timezone"] == "Asia/Ho_Chi_Minh"
    sql = " ".join(t["rawSql"] for _, t in targets())
    assert "overdue_rate" in sql and "monthly_report" in sql  # overdue rate by branch over time
    assert "classification = 'open_overdue'" in sql  # open overdue now
    assert "dossier.alerts" in sql and "kind" in sql  # alerts by kind
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_every_panel_uses_the_provisioned_data_source() -> None:
    provisioned = DATASOURCE.read_text(encoding="utf-8")
    uid = re.search(r"^\s*uid:\s*(\S+)\s*$", provisioned, flags=re.M).group(1)
    assert re.search(rf"^\s*type:\s*{PLUGIN}\s*$", provisioned, flags=re.M)
    assert "password: ${CLICKHOUSE_PASSWORD}" in provisioned  # no secret in the repository
    for panel in load_dashboard()["panels"]:
        assert panel["datasource"] == {"type": PLUGIN, "uid": uid}, panel["title"]
        for t in panel["targets"]:
            assert t["datasource"] == {"type": PLUGIN, "uid": uid} and t["editorType"] == "sql"
    assert "/var/lib/grafana/dashboards" in PROVIDER.read_text(encoding="utf-8")


@pytest.mark.parametrize(("ref", "target"), targets(), ids=[r for r, _ in targets()])
def test_panel_query_runs_on_chdb(store_client: Any, ref: str, target: dict[str, Any]) -> None:
    q = store_client.query(expand_macros(target["rawSql"]))
    assert q.result_rows, f"panel {ref} found nothing in the crafted province"
    if target["format"] == 0:  # time series: a time column first
        assert q.column_names[0] == "time"
