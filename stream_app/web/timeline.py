"""One dossier's timeline for the page: its events, where its working time went,
its pauses, its due time and its alerts, in the task force's words.

Built from the rows `queries.dossier` read from ClickHouse. Working time per unit
is `dossier_state.unit_hours`: the land clock's running time, credited to the
holder at each handover, pause and at the end (paused time is nobody's share);
for a dossier whose clock runs, plus the current holder's time since then up to
the store's clock. Pauses are read off the events: a supplement request until
the supplement arrives, a transfer to tax until the obligation is paid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.directory import Directory
from stream_app.domain.events import RANK
from stream_app.domain.messages import KIND_LABELS, vn_time

EVENT_LABELS = {
    "received": "Tiếp nhận hồ sơ",
    "transferred": "Chuyển xử lý",
    "supplement_requested": "Yêu cầu bổ sung hồ sơ",
    "supplement_received": "Nhận hồ sơ bổ sung",
    "sent_to_tax": "Chuyển cơ quan thuế",
    "tax_notice_issued": "Cơ quan thuế ra thông báo",
    "obligation_paid": "Nộp nghĩa vụ tài chính",
    "extended": "Xin lỗi, hẹn lại ngày trả",
    "concluded": "Kết thúc hồ sơ",
    "result_attached": "Đính kèm kết quả điện tử",
    "result_returned": "Trả kết quả cho công dân",
    "withdrawn": "Công dân rút hồ sơ",
}
STATUS_LABELS = {"open": "Đang giải quyết", "paused": "Tạm dừng", "finished": "Đã kết thúc"}
CLASSIFICATION_LABELS = {
    "early": "Trước hạn",
    "on_time": "Đúng hạn",
    "overdue": "Quá hạn",
    "open": "Trong hạn",
    "open_overdue": "Quá hạn",
}
OUTCOME_LABELS = {"approved": "Giải quyết", "rejected": "Từ chối", "withdrawn": "Rút hồ sơ"}
CHANNEL_LABELS = {
    "direct": "trực tiếp",
    "online": "trực tuyến",
    "postal": "bưu chính",
    "counter": "tại quầy",
}
# Events after which the store has credited the holder's time, and those that start the clock.
_CREDITS = frozenset({"received", "transferred", "supplement_requested", "sent_to_tax"})
_STARTS = frozenset({"received", "supplement_received", "obligation_paid"})
PAUSE_LABELS = {"supplement": "Chờ bổ sung hồ sơ", "tax": "Chờ thực hiện nghĩa vụ tài chính (thuế)"}


def build(dossier_id: str, rows: dict[str, Any], as_of: datetime | None, calendar: WorkingCalendar, directory: Directory) -> dict[str, Any]:
    """The JSON-ready timeline of one dossier from `queries.dossier` rows."""
    s = rows["state"] or {}
    events = sorted(rows["events"], key=lambda e: (e["occurred_at"], RANK.get(e["event_type"], 99), e["event_id"]))
    finished_at = s.get("finished_at")
    now = finished_at or as_of or (events[-1]["occurred_at"] if events else None)
    unit = directory.unit_name
    return {
        "dossier_id": dossier_id,
        "procedure_code": s.get("procedure_code"),
        "procedure_name": directory.procedure_name(s.get("procedure_code")),
        "receiving_unit": s.get("receiving_unit"),
        "receiving_unit_name": unit(s.get("receiving_unit")),
        "current_unit": s.get("current_unit"),
        "current_unit_name": unit(s.get("current_unit")),
        "status": s.get("status"),
        "status_label": STATUS_LABELS.get(s.get("status") or "", "Chưa rõ"),
        "classification": s.get("classification"),
        "classification_label": CLASSIFICATION_LABELS.get(s.get("classification") or "", ""),
        "received_at": _iso(s.get("received_at")),
        "due_at": _iso(s.get("due_at")),
        "extended_due_at": _iso(s.get("extended_due_at")),
        "finished_at": _iso(finished_at),
        "outcome_label": OUTCOME_LABELS.get(s.get("outcome") or "", ""),
        "tax_due_at": _iso(s.get("tax_due_at")),
        "as_of": _iso(as_of),
        "events": [_event(e, directory) for e in events],
        "unit_hours": _unit_hours(s, events, now, calendar, directory),
        "pauses": _pauses(events, now, calendar),
        "alerts": [
            {
                "kind": a["kind"],
                "label": KIND_LABELS.get(a["kind"], a["kind"]),
                "unit_name": unit(a["unit"] or None),
                "fires_at": _iso(a["fires_at"]),
                "due_at": _iso(a["due_at"]),
                "message": a["message"],
                "retracted": bool(a["retracted"]),
            }
            for a in rows["alerts"]
        ],
    }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def _event(e: dict[str, Any], directory: Directory) -> dict[str, Any]:
    kind = e["event_type"]
    detail = ""
    if kind == "received":
        detail = directory.procedure_name(e["procedure_code"])
        if e["channel"]:
            detail += f", nộp {CHANNEL_LABELS.get(e['channel'], e['channel'])}"
    elif kind == "transferred":
        detail = f"đến {directory.unit_name(e['to_unit'])}"
    elif kind == "sent_to_tax":
        detail = f"gửi {directory.unit_name(e['tax_office'])}" if e["tax_office"] else ""
    elif kind == "obligation_paid" and e["channel"]:
        detail = f"nộp {CHANNEL_LABELS.get(e['channel'], e['channel'])}"
    elif kind == "extended":
        detail = f"hẹn trả ngày {vn_time(e['new_due_at'])}"
    elif kind == "concluded":
        detail = OUTCOME_LABELS.get(e["outcome"] or "approved", "")
    elif kind == "result_attached":
        detail = " ".join(p for p in (e["document_ref"] or "", "(đã ký số)" if e["signed"] else "") if p)
    return {
        "event_id": e["event_id"],
        "type": kind,
        "label": EVENT_LABELS.get(kind, kind),
        "at": _iso(e["occurred_at"]),
        "unit_name": directory.unit_name(e["agency_code"]),
        "detail": detail,
    }


def _unit_hours(s: dict[str, Any], events: list[dict[str, Any]], now: datetime | None,
                calendar: WorkingCalendar, directory: Directory) -> list[dict[str, Any]]:
    hours = dict(s.get("unit_hours") or {})
    holder = s.get("current_unit")
    holding = None
    if s.get("status") == "open" and holder and now is not None:
        # The store credits a unit at each handover and pause; the time since the
        # later of the last credit and the clock's last start is still running.
        credited = [e["occurred_at"] for e in events if e["event_type"] in _CREDITS]
        started = [calendar.clock_start(e["occurred_at"]) for e in events if e["event_type"] in _STARTS]
        since = max(credited[-1:] + started[-1:], default=None)
        if since is not None:
            hours[holder] = hours.get(holder, 0.0) + calendar.between(since, now).total_seconds() / 3600
            holding = holder
    order = [s.get("receiving_unit")] + [e["to_unit"] for e in events if e["event_type"] == "transferred"]
    ranked = sorted(hours, key=lambda u: (order.index(u) if u in order else len(order), u))
    day = calendar.working_day.total_seconds() / 3600
    return [
        {"unit": u, "name": directory.unit_name(u), "hours": round(hours[u], 2),
         "days": round(hours[u] / day, 2), "holding": u == holding}
        for u in ranked
    ]


def _pauses(events: list[dict[str, Any]], now: datetime | None, calendar: WorkingCalendar) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    open_pause: dict[str, Any] | None = None
    ends = {"supplement": "supplement_received", "tax": "obligation_paid"}
    starts = {"supplement_requested": "supplement", "sent_to_tax": "tax"}
    for e in events:
        kind, at = e["event_type"], e["occurred_at"]
        if open_pause is None and kind in starts:
            open_pause = {"reason": starts[kind], "from": at}
        elif open_pause is not None and (kind == ends[open_pause["reason"]] or kind in ("concluded", "withdrawn")):
            out.append(_pause(open_pause, at, calendar))
            open_pause = None
    if open_pause is not None:
        out.append(_pause(open_pause, None, calendar, now))
    return out


def _pause(p: dict[str, Any], end: datetime | None, calendar: WorkingCalendar,
           now: datetime | None = None) -> dict[str, Any]:
    until = end or now
    worked = calendar.between(p["from"], until).total_seconds() / 3600 if until else 0.0
    return {
        "reason": p["reason"],
        "label": PAUSE_LABELS[p["reason"]],
        "from": _iso(p["from"]),
        "to": _iso(end),
        "ongoing": end is None,
        "working_hours": round(worked, 2),
    }
