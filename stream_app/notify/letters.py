"""The e-mails themselves, in Vietnamese: plain text and an HTML alternative.

Two kinds of letter: the alerts of a unit's minute (`alert_letter`: one message
for every `sla_breach`, `tax_overdue` and `late_extension` that came for the
unit within the batch window, a retraction saying so), and the morning digest
(`digest_letter`: the five sections of `notify.digest`). Each dossier is named
by its code, its procedure, the unit holding it and its due time, with a link
to its timeline on the live page (`<DOSSIER_PUBLIC_URL>/#ho-so=<code>`). The
Message-ID is a function of the batch (`<batch id@domain of the sender>`): a
send repeated after a crash is the same message, which mail systems and
readers recognise. Nothing here talks to a server.
"""

from __future__ import annotations

import html
from collections import Counter
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any, Sequence
from urllib.parse import quote

from stream_app.domain.calendar import TZ
from stream_app.domain.directory import Directory
from stream_app.domain.messages import KIND_LABELS, vn_time
from stream_app.notify.digest import SECTIONS
from stream_app.notify.recipients import TASK_FORCE

SECTION_TITLES = {
    "due_today": "Đến hạn trả kết quả hôm nay",
    "warned": "Sắp đến hạn: hạn vào ngày làm việc tiếp theo",
    "overdue": "Quá hạn, chưa giải quyết",
    "open_after_completion": "Đã có kết quả nhưng chưa kết thúc trên hệ thống",
    "missing_result": "Đã kết thúc nhưng thiếu kết quả điện tử",
}
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
FOOTER = "Thư này do hệ thống giám sát hồ sơ đất đai gửi tự động; vui lòng không trả lời thư."


# How a letter goes on the wire: bodies are quoted-printable (7-bit, any server), and headers
# are never folded (up to RFC 5322's 998 characters), because Python's folding of encoded
# words can drop the space at a fold ("Chi nhánh" read back as "Chinhánh").
WIRE = SMTP.clone(max_line_length=998)


def wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=WIRE)


class Letters:
    def __init__(self, directory: Directory, public_url: str, sender: str) -> None:
        self.directory = directory
        self.public_url = public_url.rstrip("/")
        self.sender = sender
        self.domain = sender.rpartition("@")[2] or "localhost"

    def link(self, dossier_id: str) -> str:
        return f"{self.public_url}/#ho-so={quote(dossier_id, safe='')}"

    def group_name(self, group: str) -> str:
        return "Tổ công tác" if group == TASK_FORCE else self.directory.unit_name(group)

    def _envelope(self, batch_id: str, to: Sequence[str], subject: str, sent_at: datetime) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(sent_at.astimezone(TZ))
        msg["Message-ID"] = f"<{batch_id}@{self.domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        return msg

    # ------------------------------------------------------------- alerts
    def alert_letter(self, batch_id: str, group: str, to: Sequence[str], messages: Sequence[dict[str, Any]],
                     sent_at: datetime) -> EmailMessage:
        d = self.directory
        kinds = Counter((bool(m["retracted"]), KIND_LABELS.get(m["kind"], m["kind"]).lower()) for m in messages)
        summary = ", ".join(f"{n} {'rút lại ' if retracted else ''}{label}" for (retracted, label), n in
                            sorted(kinds.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])))
        name = self.group_name(group)
        msg = self._envelope(batch_id, to, f"[Cảnh báo hồ sơ] {d.short_name(group) if group != TASK_FORCE else name}:"
                                           f" {summary}", sent_at)
        lines = [f"Kính gửi {name},", "",
                 f"Hệ thống giám sát ghi nhận {len(messages)} cảnh báo cần xử lý ngay:", ""]
        items = []
        for n, m in enumerate(messages, 1):
            label = KIND_LABELS.get(m["kind"], m["kind"])
            head = f"{n}. ĐÃ RÚT LẠI — {label}" if m["retracted"] else f"{n}. {label}"
            facts = self._facts(m)
            if m["retracted"]:
                facts.insert(0, ("Rút lại", "cảnh báo đã gửi trước đây không còn đúng: một sự kiện đến sau "
                                            "cho thấy hồ sơ không vi phạm."))
            facts.append(("Nội dung", m["message"]))
            lines += [f"{head} — hồ sơ {m['dossier_id']}", *(f"   {k}: {v}" for k, v in facts),
                      f"   Xem tiến trình: {self.link(m['dossier_id'])}", ""]
            items.append((head, m["dossier_id"], facts))
        lines += ["--", FOOTER]
        msg.set_content("\n".join(lines), cte="quoted-printable")
        blocks = "".join(
            f"<li><p><b>{html.escape(head)}</b> — hồ sơ <a href=\"{html.escape(self.link(code))}\">"
            f"{html.escape(code)}</a></p><table>"
            + "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in facts)
            + "</table></li>" for head, code, facts in items)
        msg.add_alternative(self._page(
            f"<p>Kính gửi {html.escape(name)},</p><p>Hệ thống giám sát ghi nhận {len(messages)} cảnh báo "
            f"cần xử lý ngay:</p><ol>{blocks}</ol>"), subtype="html", cte="quoted-printable")
        return msg

    def _facts(self, m: dict[str, Any]) -> list[tuple[str, str]]:
        d = self.directory
        facts = [("Thủ tục", d.procedure_name(m.get("procedure_code"))),
                 ("Đang ở", d.unit_name(m.get("unit")))]
        if m.get("receiving_unit") and m.get("receiving_unit") != m.get("unit"):
            facts.append(("Đơn vị tiếp nhận", d.unit_name(m["receiving_unit"])))
        facts += [("Hạn xử lý", vn_time(_time(m.get("due_at")))), ("Thời điểm cảnh báo", vn_time(_time(m.get("fires_at"))))]
        return facts

    # ------------------------------------------------------------- digest
    def digest_letter(self, batch_id: str, group: str, to: Sequence[str], digest: dict[str, Any],
                      sent_at: datetime) -> EmailMessage:
        d = self.directory
        day = date.fromisoformat(digest["day"])
        when = f"{WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"
        sections = digest["sections"]
        counts = {s: sections[s]["count"] for s in SECTIONS}
        name = self.group_name(group)
        short = name if group == TASK_FORCE else d.short_name(group)
        msg = self._envelope(batch_id, to, f"[Tổng hợp đầu ngày {day:%d/%m/%Y}] {short}: {counts['due_today']} đến hạn "
                                           f"hôm nay, {counts['overdue']} quá hạn", sent_at)
        lines = [f"Kính gửi {name},", "", f"Tình hình hồ sơ đầu ngày {when}:", ""]
        lines += [f"- {SECTION_TITLES[s]}: {counts[s]}" for s in SECTIONS]
        html_parts = [f"<p>Kính gửi {html.escape(name)},</p><p>Tình hình hồ sơ đầu ngày {html.escape(when)}:</p><ul>"
                      + "".join(f"<li>{html.escape(SECTION_TITLES[s])}: <b>{counts[s]}</b></li>" for s in SECTIONS)
                      + "</ul>"]
        if digest.get("by_unit"):
            lines += ["", "Theo đơn vị tiếp nhận (đến hạn hôm nay / sắp đến hạn / quá hạn / chưa kết thúc / "
                          "thiếu kết quả điện tử):"]
            rows = []
            for unit, c in digest["by_unit"].items():
                lines.append(f"- {d.short_name(unit or None)}: " + " / ".join(str(c[s]) for s in SECTIONS))
                rows.append(f"<tr><td>{html.escape(d.short_name(unit or None))}</td>"
                            + "".join(f"<td>{c[s]}</td>" for s in SECTIONS) + "</tr>")
            html_parts.append("<table><tr><th>Đơn vị</th>" + "".join(
                f"<th>{html.escape(SECTION_TITLES[s])}</th>" for s in SECTIONS) + "</tr>" + "".join(rows) + "</table>")
        for s in SECTIONS:
            listed, total = sections[s]["dossiers"], counts[s]
            if not total:
                continue
            lines += ["", f"{SECTION_TITLES[s].upper()} ({total})"]
            items = []
            for n, r in enumerate(listed, 1):
                text = (f"{d.procedure_name(r['procedure_code'])} — đang ở {d.short_name(r['current_unit'] or None)}"
                        f" — hạn {vn_time(_time(r['due_at']))}")
                lines += [f"{n}. {r['dossier_id']} — {text}", f"   {self.link(r['dossier_id'])}"]
                items.append(f"<li><a href=\"{html.escape(self.link(r['dossier_id']))}\">{html.escape(r['dossier_id'])}"
                             f"</a> — {html.escape(text)}</li>")
            more = ""
            if total > len(listed):
                more = f"… và {total - len(listed)} hồ sơ khác: xem trang giám sát {self.public_url}/"
                lines.append(more)
            html_parts.append(f"<h3>{html.escape(SECTION_TITLES[s])} ({total})</h3><ol>{''.join(items)}</ol>"
                              + (f"<p>{html.escape(more)}</p>" if more else ""))
        if not any(counts.values()):
            lines += ["", "Không có hồ sơ nào cần chú ý hôm nay."]
            html_parts.append("<p>Không có hồ sơ nào cần chú ý hôm nay.</p>")
        lines += ["", "--", FOOTER]
        msg.set_content("\n".join(lines), cte="quoted-printable")
        msg.add_alternative(self._page("".join(html_parts)), subtype="html", cte="quoted-printable")
        return msg

    @staticmethod
    def _page(body: str) -> str:
        return (f"<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"></head><body>{body}"
                f"<hr><p><small>{html.escape(FOOTER)}</small></p></body></html>")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None

