"""Section VI of the monthly report: the due-date audit in Vietnamese (`audit.AuditData` → a section).

The overdue figures both ways per receiving unit — as the national portal counts them, by
date against the provincial system's promised date, and by the legal clock — and the
dossiers on time on the portal but late by law; one builder of `sections.SECTIONS`.
"""

from __future__ import annotations

from typing import Any

from stream_app.domain.directory import Directory
from stream_app.report.audit import COUNTS, LISTED, AuditData
from stream_app.report.blocks import Column, Paragraphs, Section, Table

TITLE = "VI. Đối chiếu ngày hẹn trả của hệ thống một cửa với thời hạn theo quy định"


def audit_section(audit: AuditData | None, directory: Directory) -> Section:
    """The report's section VI: the overdue figures both ways and the dossiers the portal misses."""
    return Section(TITLE, audit_blocks(audit, directory))


def audit_blocks(audit: AuditData | None, directory: Directory) -> list[Any]:
    if audit is None or not audit.promises:
        return [Paragraphs("1. Ngày hẹn trả",
                           ["Không có ngày hẹn trả (NgayHenTra) của hệ thống một cửa để đối chiếu trong tháng."])]
    total = dict.fromkeys(COUNTS, 0)
    rows = []
    for u in sorted(audit.units, key=lambda u: (-u.counts["hidden"], directory.unit_name(u.unit))):
        for k in COUNTS:
            total[k] += u.counts[k]
        rows.append([directory.unit_name(u.unit), *(u.counts[k] for k in COUNTS)])
    rows.append(["Cộng", *(total[k] for k in COUNTS)])
    figures = Table(
        "2. Số hồ sơ quá hạn tính hai cách: theo ngày hẹn trả trên Cổng (theo ngày) và theo thời hạn luật định",
        [Column("Đơn vị"), Column("Đã giải quyết (có ngày hẹn)", "int"), Column("Quá hạn theo ngày hẹn trả", "int"),
         Column("Quá hạn theo luật định", "int"), Column("Đúng hạn trên Cổng, quá hạn theo luật", "int"),
         Column("Đang quá hạn cuối tháng theo ngày hẹn", "int"), Column("Đang quá hạn cuối tháng theo luật", "int"),
         Column("Hẹn muộn hơn luật cho phép", "int"), Column("Hẹn sớm hơn thời hạn luật", "int")], rows)
    listed = Table(
        f"3. Hồ sơ đúng hạn trên Cổng nhưng quá hạn theo luật định (tối đa {LISTED})",
        [Column("Mã hồ sơ"), Column("Đơn vị tiếp nhận"), Column("Thủ tục"), Column("Ngày hẹn trả", "datetime"),
         Column("Hạn theo luật", "datetime"), Column("Ngày kết thúc", "datetime")],
        [[h.dossier_id, directory.unit_name(h.unit), directory.procedure_name(h.procedure_code), h.promised_at,
          h.due_at, h.finished_at] for h in audit.hidden],
        empty="Không có.")
    note = Paragraphs("1. Hai cách tính quá hạn", [
        "Cổng Dịch vụ công tính quá hạn theo ngày hẹn trả do hệ thống một cửa tính (NgayHenTra); "
        "sản phẩm tính theo thời hạn luật định trên lịch ngày làm việc. Hai cách có thể khác nhau khi ngày hẹn "
        "giữ giờ tiếp nhận, bỏ qua ngày làm bù hoặc bị dời sau khi tạm dừng.",
        f"Trong tháng: {total['portal_overdue']} hồ sơ quá hạn theo ngày hẹn trả, {total['legal_overdue']} theo luật "
        f"định; {total['hidden']} hồ sơ đúng hạn trên Cổng nhưng quá hạn theo luật.",
    ])
    return [note, figures, listed]
