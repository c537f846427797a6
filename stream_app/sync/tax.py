"""The tax notices the portal hands back: base64 XML `/DATA/BODY/ROW_LIST`.

Each `ROW_LIST` names its dossier (`MA_HSO`) and lists decisions under `LIST`, each
with its number (`SO_QUYET_DINH`) and date (`NGAY_QUYET_DINH`, `dd-MM-yyyy`). The XML
comes from outside, so it is read with defusedxml (no entity expansion, no external
references) and bounded in size; a notice that cannot be read raises `ValueError`
with what is wrong, never its content.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from stream_app.sync.times import parse_day

MAX_XML_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class TaxNotice:
    dossier_id: str
    number: str
    day: date


def read_notices(encoded: str) -> list[TaxNotice]:
    """Every decision of one notice document, in document order."""
    try:
        xml = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("ThongBaoThue: not base64") from None
    if len(xml) > MAX_XML_BYTES:
        raise ValueError(f"ThongBaoThue: {len(xml)} bytes of XML, limit {MAX_XML_BYTES}")
    try:
        root = SafeET.fromstring(xml)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        raise ValueError("ThongBaoThue: not well-formed XML (or forbidden XML constructs)") from None
    notices = []
    for rows in root.iter("ROW_LIST"):
        dossier = (rows.findtext("MA_HSO") or "").strip()
        for item in rows.iter():
            day_text = item.findtext("NGAY_QUYET_DINH")
            if day_text is None:
                continue
            try:
                day = parse_day(day_text.strip())
            except ValueError as exc:
                raise ValueError(f"ThongBaoThue: NGAY_QUYET_DINH {exc}") from None
            if day is not None:
                notices.append(TaxNotice(dossier, (item.findtext("SO_QUYET_DINH") or "").strip(), day))
    return notices

