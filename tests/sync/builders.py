"""Builders for the sync tests: a context, records and progress entries as a system sends them."""

from __future__ import annotations

from typing import Any

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.sync.convert import Context, Conversion, convert_progress, convert_record
from stream_app.sync.mapping import Mapping
from stream_app.sync.records import DossierRecord, ProgressEntry
from stream_app.sync.seen import Seen

CTX = Context(Mapping.load(), Directory.load(Catalog.load()))
D = "001.22.31.H53-240304-0001"
CITY = "001.22.31.H53"
OFFICE = "000.22.31.H53"
CITY_NAME = "Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh"
OFFICE_NAME = "Văn phòng Đăng ký đất đai tỉnh Tây Ninh"


def record(**fields: Any) -> DossierRecord:
    base: dict[str, Any] = {"MaHoSo": D, "MaTTHC": "1.012711", "NgayTiepNhan": "20240304090000",
                            "NgayHenTra": "20240314090000", "TrangThaiHoSo": "2", "DonViXuLy": CITY_NAME,
                            "KenhThucHien": "1", "ChuHoSo": "Nguyễn Văn A"}
    base.update(fields)
    if "KetQuaXuLy" in base:  # the gate hands the mapping's outcome field over this way
        base["outcome_hint"] = base["KetQuaXuLy"]
    return DossierRecord.model_validate(base, context={"utc": False})


def entry(at: str, where: str | None = None, status: str = "4") -> ProgressEntry:
    return ProgressEntry.model_validate({"MaHoSo": D, "ThoiDiemXuLy": at, "PhongBanXuLy": where, "TrangThai": status,
                                         "NguoiXuLy": "Lê Thị B"})


class Feed:
    """One dossier's records and entries, converted in order, as the converter would."""

    def __init__(self, ctx: Context = CTX) -> None:
        self.ctx, self.seen, self.problems = ctx, None, []

    def _take(self, conv: Conversion) -> list[tuple[str, str]]:
        if conv.seen is not None:
            self.seen = conv.seen
        self.problems += conv.problems
        return [(e["event_type"], e["occurred_at"]) for e in conv.events]

    def record(self, **fields: Any) -> list[tuple[str, str]]:
        return self._take(convert_record(self.seen, record(**fields), CITY, self.ctx))

    def events(self, **fields: Any) -> list[dict[str, Any]]:
        conv = convert_record(self.seen, record(**fields), CITY, self.ctx)
        self._take(conv)
        return conv.events

    def progress(self, *entries: ProgressEntry) -> list[tuple[str, str]]:
        return self._take(convert_progress(self.seen, D, list(entries), CITY, self.ctx))

    @property
    def state(self) -> Seen:
        assert self.seen is not None
        return self.seen


def t(local: str) -> str:
    """'2024-03-04 09:00' as the events carry it."""
    return f"{local.replace(' ', 'T')}:00.000+07:00"
