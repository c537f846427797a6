"""The letter's configuration: who issues the report, to whom, who signs, the remedy texts.

`load_config(path)` reads the shipped `stream_app/data/report.toml` and, when a
path is given (`DOSSIER_REPORT_CONFIG`), lays that file over it key by key, so an
administrator writes only what differs. Every key is checked (an unknown key or
a placeholder a text may not use is refused with its name), so a typo fails
when the report is asked for, not in the middle of a letter. Nothing here is
hard-coded in the code that writes the document.
"""

from __future__ import annotations

import string
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED = "data/report.toml"

# The placeholders each text may use.
SUMMARY_FIELDS = frozenset({"month", "count", "before", "change"})
LINE_FIELDS = frozenset({"month", "count", "dossiers"})
ACTOR_FIELDS = {
    "tax": frozenset({"tax_office", "units"}),
    "open_after_completion": frozenset({"unit"}),
    "supplement": frozenset({"unit"}),
    "unit": frozenset({"unit", "hours"}),
    "missing_result": frozenset({"unit"}),
    "late_extension": frozenset({"unit"}),
    "still_overdue": frozenset({"unit"}),
}
REMEDY_ORDER = tuple(ACTOR_FIELDS)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check(where: str, text: str, allowed: frozenset[str]) -> None:
    try:
        used = placeholders(text)
    except ValueError as exc:  # an unmatched brace
        raise ValueError(f"{where}: {exc} (write a literal brace as {{{{ or }}}})") from None
    unknown = used - allowed
    if unknown:
        raise ValueError(f"{where} uses {', '.join('{' + u + '}' for u in sorted(unknown))}; "
                         f"it may use {', '.join('{' + a + '}' for a in sorted(allowed))}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Letter(_Strict):
    superior_body: str
    issuing_body: str
    issuer: str
    place: str
    number: str = ""
    symbol: str
    date: Literal["blank", "today"] = "blank"
    document_type: str = "BÁO CÁO"
    subject: str
    subject_unit: str
    addressee: str = ""
    preamble: str
    closing: str
    recipients: list[str]
    signer_titles: list[str]
    signer_name: str = ""

    @model_validator(mode="after")
    def _texts(self) -> "Letter":
        _check("letter.subject", self.subject, frozenset({"month"}))
        _check("letter.subject_unit", self.subject_unit, frozenset({"month", "unit"}))
        for name in ("preamble", "closing"):
            _check(f"letter.{name}", getattr(self, name), frozenset({"month", "issuer"}))
        return self


class RemedyText(_Strict):
    title: str
    summary: str  # shown when the month's count is not zero
    pending: str = ""  # shown when dossiers are still to act on at the month's end
    advice: str = ""
    line: str


class Remedies(_Strict):
    stand_out_share: float = Field(ge=0, le=1)
    max_listed: int = Field(ge=1)
    none: str
    tax: RemedyText
    open_after_completion: RemedyText
    supplement: RemedyText
    unit: RemedyText
    missing_result: RemedyText
    late_extension: RemedyText
    still_overdue: RemedyText

    @model_validator(mode="after")
    def _texts(self) -> "Remedies":
        for topic in REMEDY_ORDER:
            t: RemedyText = getattr(self, topic)
            _check(f"remedies.{topic}.title", t.title, frozenset({"month"}))
            _check(f"remedies.{topic}.summary", t.summary, SUMMARY_FIELDS)
            _check(f"remedies.{topic}.pending", t.pending, frozenset({"month", "pending"}))
            _check(f"remedies.{topic}.advice", t.advice, frozenset({"month"}))
            _check(f"remedies.{topic}.line", t.line, LINE_FIELDS | ACTOR_FIELDS[topic])
        return self

    def text(self, topic: str) -> RemedyText:
        return getattr(self, topic)


class ReportConfig(_Strict):
    letter: Letter
    remedies: Remedies


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def _read(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None


def load_config(path: Path | None = None) -> ReportConfig:
    """The shipped configuration, with the file at `path` laid over it."""
    data = _read(resources.files("stream_app").joinpath(SHIPPED).read_text("utf-8"), f"stream_app/{SHIPPED}")
    source = f"stream_app/{SHIPPED}"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"report configuration not found: {path}")
        data = _merge(data, _read(path.read_text("utf-8"), str(path)))
        source = str(path)
    try:
        return ReportConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{source}: {problems}") from None
