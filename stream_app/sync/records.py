"""The sync records as the product keeps them: every personal field dropped at the edge.

A provincial system POSTs envelopes `{"session", "madonvi", "service", "isUpdating",
"data": [...]}`: `DongBoHoSoMC` carries whole dossier records, `CapNhatTienDoHoSoMC`
progress entries. The models declare only what the conversion needs; everything else —
the applicant (`ChuHoSo`, `MaDoiTuong`, `DinhDanhCHS`, phone, e-mail, address), the
officers (`NguoiXuLy`, `ChucDanh`), free text (`NoiDungXuLy`), the portal's `session`
token — is ignored on validation and so never reaches a topic, a table or a log.
Times are read by `times.parse_time` with the sender's zone, given as the validation
context `{"utc": bool}`. Codes may come as numbers or strings; they are kept as strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from stream_app.sync.times import parse_time

DOSSIER_RECORD, PROGRESS = "DongBoHoSoMC", "CapNhatTienDoHoSoMC"
SERVICES = (DOSSIER_RECORD, PROGRESS)

_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]+$"


def _as_text(value: Any) -> Any:
    """Codes sent as numbers (4, 2.0) are the same codes as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _time(value: Any, info: ValidationInfo) -> datetime | None:
    utc = bool((info.context or {}).get("utc"))
    try:
        return parse_time(value, utc=utc)
    except ValueError as exc:
        raise PydanticCustomError("sync_time", str(exc)) from None


def _list(value: Any) -> Any:
    """A list the sender may leave null, or send as one object."""
    if value is None or value == "":
        return []
    return [value] if isinstance(value, dict | str) else value


def _flag(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return value.strip().casefold() in ("1", "true", "có", "co", "yes")
    return bool(value)


def _text(max_length: int) -> Any:
    return Annotated[str | None, BeforeValidator(_as_text),
                     StringConstraints(min_length=1, max_length=max_length, pattern=_NO_CONTROL)]


Code = _text(128)
Name = _text(256)
Time = Annotated[datetime | None, BeforeValidator(_time)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
DossierCode = Annotated[str, BeforeValidator(_as_text),
                        StringConstraints(min_length=1, max_length=64, pattern=_NO_CONTROL)]


class _Model(BaseModel):
    # extra="ignore" is the privacy rule: what is not declared here is dropped.
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)


class Supplement(_Model):
    """One entry of `DanhSachHoSoBoSung`: a request for documents and its answer."""

    NgayBoSung: Time = None
    NgayTiepNhanBoSung: Time = None
    NgayHenTraTruoc: Time = None
    NgayHenTraMoi: Time = None


class ResultDocument(_Model):
    """One entry of `DanhSachGiayToKetQua`: an electronic result document."""

    GiayToId: Code = None
    TenGiayTo: Name = None
    DuongDanTepTinKetQua: _text(512) = None

    @property
    def key(self) -> str | None:
        return self.GiayToId or self.DuongDanTepTinKetQua or self.TenGiayTo

    @property
    def ref(self) -> str | None:
        return self.DuongDanTepTinKetQua or self.GiayToId


class Payment(_Model):
    """`ThongTinThanhToan`: a payment receipt of the financial obligation."""

    ThoiGianThanhToan: Time = None
    MaThongBaoThue: Code = None
    DuocThanhToanTrucTuyen: Flag = None


class DossierRecord(_Model):
    """One whole dossier record of `DongBoHoSoMC`, as re-sent on every local change."""

    MaHoSo: DossierCode
    MaTTHC: Code = None
    NgayTiepNhan: Time = None
    NgayHenTra: Time = None
    TrangThaiHoSo: Code = None
    NgayKetThucXuLy: Time = None
    NgayTra: Time = None
    DonViXuLy: Name = None
    KenhThucHien: Code = None
    DanhSachHoSoBoSung: Annotated[list[Supplement], BeforeValidator(_list)] = Field(default_factory=list)
    DanhSachGiayToKetQua: Annotated[list[ResultDocument], BeforeValidator(_list)] = Field(default_factory=list)
    # The portal's tax notices as base64 XML, and the payment receipts.
    ThongBaoThue: Annotated[list[Annotated[str, StringConstraints(max_length=1 << 20)]],
                            BeforeValidator(_list)] = Field(default_factory=list)
    ThongTinThanhToan: Annotated[list[Payment], BeforeValidator(_list)] = Field(default_factory=list)
    DuocThanhToanTrucTuyen: Flag = None
    # The local field the mapping's [outcome] names, put here by the gate.
    outcome_hint: Name = None


class ProgressEntry(_Model):
    """One entry of `CapNhatTienDoHoSoMC`: a step, who did it (dropped) and where."""

    MaHoSo: DossierCode
    ThoiDiemXuLy: Time = None
    PhongBanXuLy: Name = None
    TrangThai: Code = None


class Envelope(_Model):
    """What one POST carries; `data` is validated item by item (`gate`)."""

    madonvi: Code = None
    service: Literal["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    isUpdating: Flag = None
    data: Annotated[list[Any], BeforeValidator(_list)]


def known_fields(model: type[_Model], obj: Any) -> Any:
    """The declared fields of a sender's object, nested lists too: what a dead letter may keep."""
    if not isinstance(obj, dict):
        return None
    nested = {"DanhSachHoSoBoSung": Supplement, "DanhSachGiayToKetQua": ResultDocument, "ThongTinThanhToan": Payment}
    out: dict[str, Any] = {}
    for name in model.model_fields:
        if name not in obj or name == "outcome_hint":
            continue
        value = obj[name]
        if name in nested and model is DossierRecord:
            items = value if isinstance(value, list) else [value]
            value = [known_fields(nested[name], v) for v in items if isinstance(v, dict)]
        elif isinstance(value, dict | list):
            value = None  # a structure where a value belongs: its contents are not kept
        out[name] = value
    return out
