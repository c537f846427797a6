"""What a rebuild changed: dossiers, alerts and monthly figures, old database against new.

Read from the two databases after the rebuild filled the new one and before
the switch. A dossier moved when its `due_at`, `tax_due_at` or
`classification` differs (or it exists on one side only); an alert is added
when it stands (not retracted) only in the new database and retracted when it
stood only in the old one; a monthly figure changed when any column of the
`monthly_report` row of a (month, unit) differs, rates compared to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

_STATE = ("due_at", "tax_due_at", "classification")


@dataclass(frozen=True, slots=True)
class Moved:
    dossier_id: str
    column: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert_id: str
    kind: str
    dossier_id: str
    fires_at: datetime


@dataclass(frozen=True, slots=True)
class Figure:
    month: date
    unit: str
    column: str
    old: Any
    new: Any


@dataclass
class Changes:
    dossiers: list[Moved] = field(default_factory=list)
    alerts_added: list[AlertChange] = field(default_factory=list)
    alerts_retracted: list[AlertChange] = field(default_factory=list)
    monthly: list[Figure] = field(default_factory=list)

    @property
    def dossier_ids(self) -> set[str]:
        return {m.dossier_id for m in self.dossiers}

    def __bool__(self) -> bool:
        return bool(self.dossiers or self.alerts_added or self.alerts_retracted or self.monthly)


def _states(client: Any, db: str) -> dict[str, tuple[Any, ...]]:
    q = client.query(f"SELECT dossier_id, {', '.join(_STATE)} FROM {db}.dossier_state FINAL")
    return {r[0]: tuple(r[1:]) for r in q.result_rows}


def _standing(client: Any, db: str) -> dict[str, AlertChange]:
    q = client.query(f"SELECT alert_id, kind, dossier_id, fires_at FROM {db}.alerts FINAL WHERE NOT retracted")
    return {r[0]: AlertChange(*r) for r in q.result_rows}


def _monthly(client: Any, db: str) -> dict[tuple[date, str], dict[str, Any]] | None:
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'monthly_report'",
        parameters={"db": db},
    ).result_rows[0][0]
    if not exists:
        return None
    q = client.query(f"SELECT * FROM {db}.monthly_report")
    out = {}
    for r in q.result_rows:
        row = dict(zip(q.column_names, r))
        out[(row.pop("month"), str(row.pop("unit")))] = row
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9
    return a == b


def diff(client: Any, old_db: str, new_db: str) -> Changes:
    changes = Changes()
    old, new = _states(client, old_db), _states(client, new_db)
    blank = (None,) * len(_STATE)
    for dossier_id in sorted(old.keys() | new.keys()):
        before, after = old.get(dossier_id, blank), new.get(dossier_id, blank)
        for column, a, b in zip(_STATE, before, after):
            if not _same(a, b):
                changes.dossiers.append(Moved(dossier_id, column, a, b))
    old_alerts, new_alerts = _standing(client, old_db), _standing(client, new_db)
    order = lambda a: (a.fires_at, a.dossier_id, a.kind)  # noqa: E731
    changes.alerts_added = sorted((a for i, a in new_alerts.items() if i not in old_alerts), key=order)
    changes.alerts_retracted = sorted((a for i, a in old_alerts.items() if i not in new_alerts), key=order)
    old_m, new_m = _monthly(client, old_db), _monthly(client, new_db)
    if old_m is not None and new_m is not None:
        for key in sorted(old_m.keys() | new_m.keys()):
            a, b = old_m.get(key, {}), new_m.get(key, {})
            for column in dict.fromkeys([*a, *b]):
                if not _same(a.get(column), b.get(column)):
                    changes.monthly.append(Figure(key[0], key[1], column, a.get(column), b.get(column)))
    return changes


# ------------------------------------------------------------------ output
