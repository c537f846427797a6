"""The remedies: for each cause that grew or stands out, who acts and on which dossiers.

`remedies(data, directory, config)` turns the month's figures and named
dossiers (`data.MonthData`, `dossiers.NamedDossiers`) into one `Paragraphs`
block per topic, in a fixed order (`letter.REMEDY_ORDER`): its summary, its
advice, then one line per unit or tax office that acts, listing the dossier
codes. The texts are the administrator's templates (`letter.Remedies`); this
module only decides which topics apply and fills in the figures and lists.

A cause of overdue dossiers (tax, left open after completion, supplement, the
unit) applies when its count grew from a previous month that has data, when
it is at least `stand_out_share` of the month's overdue dossiers, or when some
of its dossiers are still to act on at the month's end (waiting at the tax
authority past its limit, left open after completion). Late apology letters
and missing electronic results apply whenever there is one; the dossiers still
overdue at the month's end whenever there are any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from stream_app.domain.directory import Directory
from stream_app.report.blocks import Paragraphs, vn_number
from stream_app.report.data import MonthData
from stream_app.report.dossiers import Named
from stream_app.report.letter import REMEDY_ORDER, Remedies
from stream_app.report.words import change_words, count, month_label

CAUSE_TOPICS = {"tax": "overdue_tax", "open_after_completion": "overdue_open_after_completion",
                "supplement": "overdue_supplement", "unit": "overdue_unit_held"}


@dataclass
class Topic:
    key: str
    now: int
    before: int
    items: list[Named] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return sum(1 for i in self.items if i.pending)


def topics(data: MonthData) -> list[Topic]:
    """Every topic's figures and dossiers for the month, in `REMEDY_ORDER`."""
    now, before, named = data.total, data.total_before, data.named
    by_cause = {cause: [n for n in named.finished_overdue if n.detail == cause]
                for cause in ("supplement", "unit")}
    items = {
        "tax": named.tax_delayed,
        "open_after_completion": named.left_open,
        "supplement": by_cause["supplement"],
        "unit": by_cause["unit"],
        "missing_result": named.alerts["missing_result"],
        "late_extension": named.alerts["late_extension"],
        "still_overdue": [Named(s.dossier_id, s.current_unit or s.unit, s.unit, pending=True)
                          for s in data.still_overdue],
    }
    figures = {key: (now[col], before[col]) for key, col in CAUSE_TOPICS.items()}
    figures["missing_result"] = (len(named.alerts["missing_result"]), named.alerts_before["missing_result"])
    figures["late_extension"] = (len(named.alerts["late_extension"]), named.alerts_before["late_extension"])
    figures["still_overdue"] = (now["open_overdue_at_month_end"], before["open_overdue_at_month_end"])
    return [Topic(key, *figures[key], items[key]) for key in REMEDY_ORDER]


def applies(topic: Topic, data: MonthData, config: Remedies) -> bool:
    if topic.key in CAUSE_TOPICS:
        grew = data.has_previous and topic.now > topic.before
        stands_out = topic.now > 0 and topic.now >= config.stand_out_share * data.total["finished_overdue"]
        return (topic.now > 0 and (grew or stands_out)) or topic.pending > 0
    return topic.now > 0


def listing(codes: Iterable[str], most: int) -> str:
    codes = sorted(set(codes))
    shown = ", ".join(codes[:most])
    return shown + (f" và {count(len(codes) - most)} hồ sơ khác" if len(codes) > most else "")


def _groups(topic: Topic, directory: Directory) -> list[tuple[dict[str, str], list[Named]]]:
    """The lines of a topic: one per tax office (tax) or per acting unit, most dossiers first."""
    key_of = (lambda n: n.detail) if topic.key == "tax" else (lambda n: n.unit)
    grouped: dict[str, list[Named]] = {}
    for item in topic.items:
        grouped.setdefault(key_of(item), []).append(item)
    out = []
    for key, members in grouped.items():
        if topic.key == "tax":
            units = sorted({directory.unit_name(m.receiving_unit) for m in members})
            fields = {"tax_office": directory.unit_name(key) if key else "cơ quan thuế", "units": ", ".join(units)}
        else:
            fields = {"unit": directory.unit_name(key)}
            if topic.key == "unit":
                fields["hours"] = vn_number(sum(m.hours for m in members), 1)
        out.append((fields, members))
    out.sort(key=lambda g: (-len(g[1]), next(iter(g[0].values()))))
    return out


def remedies(data: MonthData, directory: Directory, config: Remedies) -> list[Paragraphs]:
    month = month_label(data.month)
    blocks = []
    for topic in topics(data):
        if not applies(topic, data, config):
            continue
        text = config.text(topic.key)
        unit_word = " phiếu" if topic.key == "late_extension" else " hồ sơ"
        lines = []
        if topic.now:
            lines.append(text.summary.format(
                month=month, count=count(topic.now), before=count(topic.before) if data.has_previous else "—",
                change=change_words(topic.now, topic.before, unit_word, has_previous=data.has_previous)
                + (" so với tháng trước" if data.has_previous else "")))
        if topic.pending and text.pending:
            lines.append(text.pending.format(month=month, pending=count(topic.pending)))
        if text.advice:
            lines.append(text.advice.format(month=month))
        for fields, members in _groups(topic, directory):
            lines.append(text.line.format(month=month, count=count(len(members)),
                                          dossiers=listing((m.dossier_id for m in members), config.max_listed),
                                          **fields))
        blocks.append(Paragraphs(text.title.format(month=month), lines, lists=True))
    return blocks
