"""A crafted province of twelve dossiers over October and November 2023, by hand.

Every figure the analytics tests expect is worked out below, next to the dossier
that causes it, from docs/domain.md's rules (office hours 07:00-11:30 and 13:30-17:00,
Monday to Friday; no public holiday falls in October or November 2023). Units:
A = 001.22.31.H53 (branch, Tây Ninh city), B = 002.22.31.H53 (branch, Hòa Thành),
OFFICE = 000.22.31.H53 (the provincial office, which only holds a transferred file).
Limits: 1.012713 = 5 working days, 1.012711 = 8 (tax-linked, tax limit 5),
1.012717 = 8, 9.999999 is not in the catalog.

D1  A  received Mon 02/10 09:00, due Mon 09/10 09:00; result attached 05/10, concluded
       Thu 05/10 10:00 → October, early, digitised.
D2  A  received Mon 02/10 14:00, due Mon 09/10 14:00; concluded Mon 09/10 16:00 without
       a result → October, on time (same date), not digitised.
D3  A  received Mon 23/10 08:00, due Mon 30/10 08:00; transferred to OFFICE on Tue 24/10
       08:00 (A held 8 h, OFFICE then 58 h; share 20 h each → OFFICE held it past its
       share); extended in time on 26/10 (still late against the original due date);
       breach at the end of 30/10 → open and overdue at the end of October; result
       attached 02/11 09:30, concluded Thu 02/11 10:00 → November, overdue, cause unit,
       digitised. The dossier overdue across two months.
D4  B  received Tue 03/10 09:00 (8 days); sent to tax Thu 05/10 09:00 after 16 h; tax
       due Thu 12/10 09:00 but the notice came Fri 13/10; paid online Mon 16/10 09:00,
       48 h left → due Tue 24/10 09:00; concluded Wed 25/10 → October, overdue, cause
       tax, digitised; one online payment in October.
D5  B  received Wed 11/10 09:00; supplement requested 12/10, received Mon 23/10 09:00
       (restart: due Mon 30/10 09:00); rejected Tue 31/10 15:00 → October, overdue,
       cause supplement; rejected, so outside the digitised rate.
D6  A  received Thu 26/10 09:00 (8 days), sent to tax Mon 30/10 09:00 after 16 h (paused
       at the end of October: open, not overdue); notice in time 01/11, paid at the
       counter Thu 02/11 09:00 → due Fri 10/11 09:00; result attached 08/11 and returned
       09/11 but never closed → open and overdue at the end of November, cause left
       open after completion; one counter payment in November.
D7  B  received Tue 28/11 09:00, due Tue 05/12 → open, not overdue, at the end of November.
D8  B  received 2023-10-31T23:30:00Z = Wed 01/11 06:30 local → a November dossier (the
       clock starts 07:00, due Tue 07/11 17:00); concluded Mon 06/11 → November, early,
       digitised.
D9  A  received Wed 25/10 09:00, due Wed 01/11 09:00 → open, not overdue, at the end of
       October; concluded 2023-10-31T17:30:00Z = Wed 01/11 00:30 local → November, on
       time (finished on its due date), digitised (result attached 31/10).
D10 B  received Mon 06/11 09:00, withdrawn Fri 10/11 → November, on time, no result.
D11 A  received Thu 16/11 09:00 under an unknown procedure (no due time); concluded
       Mon 20/11 with its result → November, on time, digitised.
D12 B  received Mon 02/10 09:00, due Mon 09/10 09:00, breach at the end of 09/10;
       supplement requested 11/10 (frozen, still overdue), received Mon 30/10 09:00 →
       the limit restarts, due Mon 06/11 09:00: open but NOT overdue at the end of
       October; an apology letter on Mon 06/11 08:00, one working hour before the due
       time (late: the late_extension alert of November; still late against the due
       date); concluded Tue 07/11 10:00 with its result → November, overdue, cause
       supplement, digitised.

The first line of D1 is sent twice: a duplicate changes nothing.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

A, B, OFFICE = "001.22.31.H53", "002.22.31.H53", "000.22.31.H53"
TAX_OFFICE = "002.53.10.G12"
AS_OF = datetime.fromisoformat("2023-11-30T18:00:00+07:00")
OCT, NOV = date(2023, 10, 1), date(2023, 11, 1)

D1, D2, D3, D6, D9, D11 = (f"{A}-{s}" for s in ("231002-0001", "231002-0002", "231023-0001",
                                                 "231026-0001", "231025-0001", "231116-0001"))
D4, D5, D7, D8, D10, D12 = (f"{B}-{s}" for s in ("231003-0001", "231011-0001", "231128-0001",
                                                  "231101-0001", "231106-0001", "231002-0001"))


def _t(text: str) -> str:
    """Local wall time "MM-DD HH:MM" in 2023, or a full RFC 3339 timestamp as given."""
    return text if "T" in text else f"2023-{text[:5]}T{text[6:]}:00+07:00"


# (dossier, event_type, when, unit where it happened, own fields)
STORY: list[tuple[str, str, str, str, dict[str, Any]]] = [
    (D1, "received", "10-02 09:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (D1, "result_attached", "10-05 09:30", A, {"document_ref": "KQ-D1", "signed": True}),
    (D1, "concluded", "10-05 10:00", A, {"outcome": "approved"}),
    (D2, "received", "10-02 14:00", A, {"procedure_code": "1.012713", "channel": "online"}),
    (D2, "concluded", "10-09 16:00", A, {"outcome": "approved"}),
    (D3, "received", "10-23 08:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (D3, "transferred", "10-24 08:00", A, {"to_unit": OFFICE}),
    (D3, "extended", "10-26 08:00", OFFICE, {"new_due_at": _t("11-03 17:00")}),
    (D3, "result_attached", "11-02 09:30", OFFICE, {"document_ref": "KQ-D3", "signed": True}),
    (D3, "concluded", "11-02 10:00", OFFICE, {"outcome": "approved"}),
    (D4, "received", "10-03 09:00", B, {"procedure_code": "1.012711", "channel": "direct"}),
    (D4, "sent_to_tax", "10-05 09:00", B, {"tax_office": TAX_OFFICE}),
    (D4, "tax_notice_issued", "10-13 10:00", TAX_OFFICE, {}),
    (D4, "obligation_paid", "10-16 09:00", B, {"channel": "online"}),
    (D4, "result_attached", "10-25 09:00", B, {"document_ref": "KQ-D4", "signed": True}),
    (D4, "concluded", "10-25 10:00", B, {"outcome": "approved"}),
    (D5, "received", "10-11 09:00", B, {"procedure_code": "1.012713", "channel": "postal"}),
    (D5, "supplement_requested", "10-12 09:00", B, {}),
    (D5, "supplement_received", "10-23 09:00", B, {}),
    (D5, "concluded", "10-31 15:00", B, {"outcome": "rejected"}),
    (D6, "received", "10-26 09:00", A, {"procedure_code": "1.012711", "channel": "online"}),
    (D6, "sent_to_tax", "10-30 09:00", A, {"tax_office": TAX_OFFICE}),
    (D6, "tax_notice_issued", "11-01 09:00", TAX_OFFICE, {}),
    (D6, "obligation_paid", "11-02 09:00", A, {"channel": "counter"}),
    (D6, "result_attached", "11-08 10:00", A, {"document_ref": "KQ-D6", "signed": True}),
    (D6, "result_returned", "11-09 10:00", A, {}),
    (D7, "received", "11-28 09:00", B, {"procedure_code": "1.012713", "channel": "direct"}),
    (D8, "received", "2023-10-31T23:30:00Z", B, {"procedure_code": "1.012713", "channel": "online"}),
    (D8, "result_attached", "11-06 09:00", B, {"document_ref": "KQ-D8", "signed": True}),
    (D8, "concluded", "11-06 10:00", B, {"outcome": "approved"}),
    (D9, "received", "10-25 09:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (D9, "result_attached", "10-31 15:00", A, {"document_ref": "KQ-D9", "signed": True}),
    (D9, "concluded", "2023-10-31T17:30:00Z", A, {"outcome": "approved"}),
    (D10, "received", "11-06 09:00", B, {"procedure_code": "1.012717", "channel": "direct"}),
    (D10, "withdrawn", "11-10 10:00", B, {}),
    (D11, "received", "11-16 09:00", A, {"procedure_code": "9.999999", "channel": "direct"}),
    (D11, "result_attached", "11-20 09:00", A, {"document_ref": "KQ-D11", "signed": True}),
    (D11, "concluded", "11-20 10:00", A, {"outcome": "approved"}),
    (D12, "received", "10-02 09:00", B, {"procedure_code": "1.012713", "channel": "direct"}),
    (D12, "supplement_requested", "10-11 09:00", B, {}),
    (D12, "supplement_received", "10-30 09:00", B, {}),
    (D12, "extended", "11-06 08:00", B, {"new_due_at": _t("11-07 17:00")}),
    (D12, "result_attached", "11-07 09:00", B, {"document_ref": "KQ-D12", "signed": True}),
    (D12, "concluded", "11-07 10:00", B, {"outcome": "approved"}),
]


def events() -> list[dict[str, Any]]:
    """The story as contract events, time-sorted like an export."""
    out, seq = [], {}
    for dossier, kind, when, unit, fields in STORY:
        seq[dossier] = seq.get(dossier, 0) + 1
        out.append({"event_id": f"{dossier}:{seq[dossier]}", "event_type": kind, "dossier_id": dossier,
                    "occurred_at": _t(when), "agency_code": unit, **fields})
    out.sort(key=lambda e: datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")))
    return out


def write(path: Path) -> Path:
    lines = [json.dumps(e, ensure_ascii=False) for e in events()]
    lines.insert(1, lines[0])  # a duplicate of the first event
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# monthly_report, every cell, worked out in the module docstring.
# Columns: received, finished, early, on_time, overdue, overdue_rate, open, open_overdue,
# prev_finished, prev_finished_overdue, prev_rate, change, timeliness, digitisable,
# digitised, digitised_rate, payments, payments_online, online_rate,
# overdue_tax, overdue_open_after_completion, overdue_supplement, overdue_unit_held.
MONTHLY: dict[tuple[date, str], dict[str, Any]] = {
    # A October: received D1 D2 D3 D6 D9; finished D1 (early) D2 (on time); open at the
    # end D3 (overdue) D6 (paused at tax) D9 (due 01/11) → score 20 × (2 + 2) / (2 + 3).
    (OCT, A): dict(received=5, finished=2, finished_early=1, finished_on_time=1, finished_overdue=0,
                   overdue_rate=0.0, open_at_month_end=3, open_overdue_at_month_end=1,
                   prev_finished=0, prev_finished_overdue=0, prev_overdue_rate=None, overdue_rate_change=None,
                   timeliness_score=16.0, digitisable=2, digitised=1, digitised_rate=0.5,
                   payments=0, payments_online=0, online_payment_rate=None,
                   overdue_tax=0, overdue_open_after_completion=0, overdue_supplement=0, overdue_unit_held=0),
    # B October: received D4 D5 D12; finished D4 (overdue, tax) D5 (overdue, supplement,
    # rejected); open at the end D12 (restarted 30/10, not overdue) → 20 × (0 + 1) / (2 + 1).
    (OCT, B): dict(received=3, finished=2, finished_early=0, finished_on_time=0, finished_overdue=2,
                   overdue_rate=1.0, open_at_month_end=1, open_overdue_at_month_end=0,
                   prev_finished=0, prev_finished_overdue=0, prev_overdue_rate=None, overdue_rate_change=None,
                   timeliness_score=20 / 3, digitisable=1, digitised=1, digitised_rate=1.0,
                   payments=1, payments_online=1, online_payment_rate=1.0,
                   overdue_tax=1, overdue_open_after_completion=0, overdue_supplement=1, overdue_unit_held=0),
    # A November: received D11; finished D3 (overdue, unit) D9 (on time) D11 (on time);
    # open at the end D6 (overdue) → 20 × (0 + 2 + 1 - 1) / (3 + 1).
    (NOV, A): dict(received=1, finished=3, finished_early=0, finished_on_time=2, finished_overdue=1,
                   overdue_rate=1 / 3, open_at_month_end=1, open_overdue_at_month_end=1,
                   prev_finished=2, prev_finished_overdue=0, prev_overdue_rate=0.0, overdue_rate_change=1 / 3,
                   timeliness_score=10.0, digitisable=3, digitised=3, digitised_rate=1.0,
                   payments=1, payments_online=0, online_payment_rate=0.0,
                   overdue_tax=0, overdue_open_after_completion=0, overdue_supplement=0, overdue_unit_held=1),
    # B November: received D7 D8 D10; finished D8 (early) D10 (withdrawn, on time) D12
    # (overdue, supplement); open at the end D7 → 20 × (1 + 1 + 1 - 0) / (3 + 1).
    (NOV, B): dict(received=3, finished=3, finished_early=1, finished_on_time=1, finished_overdue=1,
                   overdue_rate=1 / 3, open_at_month_end=1, open_overdue_at_month_end=0,
                   prev_finished=2, prev_finished_overdue=2, prev_overdue_rate=1.0, overdue_rate_change=1 / 3 - 1,
                   timeliness_score=15.0, digitisable=3, digitised=2, digitised_rate=2 / 3,
                   payments=0, payments_online=0, online_payment_rate=None,
                   overdue_tax=0, overdue_open_after_completion=0, overdue_supplement=1, overdue_unit_held=0),
}
