"""The synthetic province as its one-stop systems sync it to the national portal.

`SyncRenderer.pushes(dossier_id, story)` plays one dossier's story (`generate`'s
`StoryEvent`s) the way a provincial one-stop system reports it: on every local change
a push — the new progress entries (`CapNhatTienDoHoSoMC`, with the synthetic intake row
re-sent every time and a synthetic 9 row once processed) and then the whole dossier
record (`DongBoHoSoMC`). The quirks of real builds are in: online dossiers sent as
status 1 then 2; whole records re-sent (an insert, then an update when the portal
answers "đã tồn tại"); the Trảng Bàng build sends 5 and 6 as 9 (with no end time) and
writes numbers for codes; two branches write `yyyy-MM-dd HH:mm:ss`; `NgayHenTra`
computed the way those builds do (the clock time of intake kept, weekends and the public
holidays skipped, no make-up Saturdays), empty for some dossiers, moved after a pause by
its calendar days and one more working day; a result handed over before the dossier is
closed goes from 4 straight to 10; placeholder identity numbers (`000000001`) and officer
names ("Chuyên viên"). Every record carries fake personal fields — applicant, identity
number, phone, e-mail, address, officers — so the product's drop is tested. Apology
letters (`extended`) are not synced: the sync format has no field for them. The
renderer has its own random stream, so the stories are those of the events format.
"""

from __future__ import annotations

import base64
import math
import random
from datetime import date, datetime, timedelta
from typing import Any

import holidays
import orjson

from stream_app.domain.calendar import TZ
from stream_app.domain.catalog import Catalog
from stream_app.replay.province import GIVEN_NAMES, MIDDLE_NAMES, SURNAMES, Unit
from stream_app.replay.truth import StoryEvent

DOSSIER_RECORD, PROGRESS = "DongBoHoSoMC", "CapNhatTienDoHoSoMC"
QUIRKY_NINE = frozenset({"003.22.31.H53"})  # the build that sends 5 and 6 as 9
DASHED_TIMES = frozenset({"005.22.31.H53", "006.22.31.H53"})  # yyyy-MM-dd HH:mm:ss
RESENT = 0.25  # pushes sent twice: insert, then update after "đã tồn tại"
EMPTY_PROMISE = 0.02  # NgayHenTra left empty
PLACEHOLDER_ID = 0.1  # DinhDanhCHS = 000000001
PLACEHOLDER_OFFICER = 0.3  # NguoiXuLy = "Chuyên viên"
SKIP_NINE = 0.3  # of conclusions followed by the return: no 9 pushed, 4 -> 10
INTAKE_DESK = "Bộ phận Tiếp nhận và Trả kết quả"
STREETS = ("Cách Mạng Tháng Tám", "Trần Hưng Đạo", "30 Tháng 4", "Nguyễn Trãi", "Lý Thường Kiệt", "Hùng Vương")
CHANNELS = {"direct": 1, "online": 2, "postal": 3}


def notice_document(dossier_id: str, number: str, day: date) -> str:
    """A tax notice as the portal hands it back: base64 XML /DATA/BODY/ROW_LIST."""
    xml = (f"<DATA><BODY><ROW_LIST><MA_HSO>{dossier_id}</MA_HSO><LIST><ITEM>"
           f"<SO_QUYET_DINH>{number}</SO_QUYET_DINH><NGAY_QUYET_DINH>{day:%d-%m-%Y}</NGAY_QUYET_DINH>"
           "</ITEM></LIST></ROW_LIST></BODY></DATA>")
    return base64.b64encode(xml.encode()).decode()


class _SystemCalendar:
    """How those builds count NgayHenTra: weekdays less the public holidays typed in, no
    make-up Saturdays, the clock time of intake kept."""

    def __init__(self) -> None:
        self._off: dict[int, Any] = {}

    def _works(self, d: date) -> bool:
        if d.year not in self._off:
            self._off[d.year] = holidays.country_holidays("VN", years=d.year)
        return d.weekday() < 5 and d not in self._off[d.year]

    def add_days(self, t: datetime, days: float) -> datetime:
        t = t.astimezone(TZ)
        d, n = t.date(), math.ceil(days)
        while n > 0:
            d += timedelta(days=1)
            n -= self._works(d)
        return datetime.combine(d, t.timetz())

    def after_pause(self, promised: datetime, paused: timedelta) -> datetime:
        """Shifted by the calendar days of the pause, then one more working day."""
        return self.add_days(promised + timedelta(days=math.ceil(paused / timedelta(days=1))), 1)


class SyncRenderer:
    def __init__(self, rng: random.Random, units: dict[str, Unit], catalog: Catalog) -> None:
        self.rng, self.units, self.catalog = rng, units, catalog
        self.calendar = _SystemCalendar()
        self.personal: set[str] = set()  # every fake personal value written (tests grep for them)

    def _time(self, unit: str, t: datetime | None) -> str:
        if t is None:
            return ""
        fmt = "%Y-%m-%d %H:%M:%S" if unit in DASHED_TIMES else "%Y%m%d%H%M%S"
        return t.astimezone(TZ).strftime(fmt)

    def _person(self) -> str:
        return " ".join(self.rng.choice(names) for names in (SURNAMES, MIDDLE_NAMES, GIVEN_NAMES))

    def _officer(self) -> dict[str, str]:
        if self.rng.random() < PLACEHOLDER_OFFICER:
            return {"NguoiXuLy": "Chuyên viên", "ChucDanh": "Chuyên viên"}
        name = self._person()
        self.personal.add(name)
        return {"NguoiXuLy": name, "ChucDanh": self.rng.choice(("Chuyên viên", "Phó Giám đốc", "Giám đốc"))}

    def pushes(self, dossier_id: str, story: list[StoryEvent]) -> list[tuple[datetime, bytes]]:
        """Every envelope the dossier's system sends, with when, in order."""
        rng, received = self.rng, story[0]
        unit = received.agency
        code = received.fields["procedure_code"]
        quirky = unit in QUIRKY_NINE
        proc = self.catalog.lookup(code, received.at.astimezone(TZ).date())
        limit = proc.limit_working_days if proc else None
        promised = (None if limit is None or rng.random() < EMPTY_PROMISE
                    else self.calendar.add_days(received.at, limit))
        applicant, number = self._person(), f"{rng.randrange(10**11, 10**12):012d}"
        phone = "09" + "".join(rng.choice("0123456789") for _ in range(8))
        email = f"{applicant.split()[-1].lower()}.{rng.randrange(1000, 9999)}@example.vn"
        address = f"Số {rng.randrange(1, 400)} đường {rng.choice(STREETS)}, {self.units[unit].district or 'Tây Ninh'}"
        placeholder = rng.random() < PLACEHOLDER_ID
        self.personal |= {applicant, phone, email, address} | (set() if placeholder else {number})

        def status(n: int) -> Any:
            shown = 9 if quirky and n in (5, 6) else n
            return shown if quirky else str(shown)

        rec: dict[str, Any] = {
            "MaHoSo": dossier_id, "MaTTHC": code, "TenTTHC": self.catalog.name(code) or "Thủ tục địa phương",
            "MaLinhVuc": "G09-TN02", "NgayTiepNhan": self._time(unit, received.at),
            "NgayHenTra": self._time(unit, promised), "TrangThaiHoSo": status(2), "NgayKetThucXuLy": "",
            "NgayTra": "", "DonViXuLy": self.units[unit].name, "KenhThucHien": CHANNELS[received.fields["channel"]],
            "HinhThuc": rng.choice((0, 1)), "DanhSachHoSoBoSung": [], "DanhSachGiayToKetQua": [],
            "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí cấp Giấy chứng nhận", "MaPhiLePhi": "LP01", "Gia": 50000}],
            "TaiLieuNop": [{"TenTepDinhKem": "Don_dang_ky.pdf", "DuongDanTaiTepTin": f"HS/{dossier_id}/1.pdf"}],
            "ChuHoSo": applicant, "MaDoiTuong": "1", "DinhDanhCHS": "000000001" if placeholder else number,
            "SoDienThoaiChuHoSo": phone, "EmailChuHoSo": email, "DiaChiChuHoSo": address,
        }
        intake_row = {"MaHoSo": dossier_id, **self._officer(), "ThoiDiemXuLy": self._time(unit, received.at),
                      "PhongBanXuLy": INTAKE_DESK, "NoiDungXuLy": "Tiếp nhận hồ sơ", "TrangThai": "2",
                      "NgayBatDau": self._time(unit, received.at), "NgayKetThucTheoQuyDinh": rec["NgayHenTra"]}
        out: list[tuple[datetime, bytes]] = []
        state = {"first": True, "nine_row": None, "holder": unit, "paused_at": None, "tax": 0}

        def row(at: datetime, trang_thai: str, where: str, what: str) -> dict[str, Any]:
            return {"MaHoSo": dossier_id, **self._officer(), "ThoiDiemXuLy": self._time(unit, at),
                    "PhongBanXuLy": where, "NoiDungXuLy": what, "TrangThai": trang_thai,
                    "NgayBatDau": self._time(unit, at), "NgayKetThucTheoQuyDinh": rec["NgayHenTra"]}

        def push(at: datetime, rows: list[dict[str, Any]]) -> None:
            synthetic = [intake_row] + ([state["nine_row"]] if state["nine_row"] else [])
            envelopes = [{"service": PROGRESS, "isUpdating": "False", "data": rows + synthetic}]
            envelopes.append({"service": DOSSIER_RECORD, "isUpdating": "False" if state["first"] else "True",
                              "data": [rec]})
            if rng.random() < RESENT:
                envelopes.append({"service": DOSSIER_RECORD, "isUpdating": "True", "data": [rec]})
            state["first"] = False
            for env in envelopes:
                session = f"{rng.getrandbits(64):016x}"
                self.personal.add(session)  # the portal's token: never kept either
                line = {"session": session, "madonvi": unit, **env}
                out.append((at, orjson.dumps(line)))

        if received.fields["channel"] == "online":
            rec["TrangThaiHoSo"] = status(1)
            push(received.at, [])
            rec["TrangThaiHoSo"] = status(2)
        push(received.at, [])
        events = [e for e in story if e.type != "extended"]  # apology letters are not synced
        for i, e in enumerate(events[1:], start=1):
            name = self.units[state["holder"]].name
            if e.type == "transferred":
                state["holder"] = e.fields["to_unit"]
                rec.update(TrangThaiHoSo=status(4), DonViXuLy=self.units[state["holder"]].name)
                push(e.at, [row(e.at, "4", rec["DonViXuLy"], "Chuyển xử lý")])
            elif e.type == "supplement_requested":
                rec["TrangThaiHoSo"] = status(5)
                rec["DanhSachHoSoBoSung"] = [*rec["DanhSachHoSoBoSung"], {
                    "NgayBoSung": self._time(unit, e.at), "NgayTiepNhanBoSung": "",
                    "NgayHenTraTruoc": rec["NgayHenTra"], "NgayHenTraMoi": ""}]
                state["paused_at"] = e.at
                push(e.at, [row(e.at, "5", name, "Yêu cầu bổ sung hồ sơ")])
            elif e.type == "supplement_received":
                self._resume(rec, unit, state, e.at)
                last = dict(rec["DanhSachHoSoBoSung"][-1], NgayTiepNhanBoSung=self._time(unit, e.at),
                            NgayHenTraMoi=rec["NgayHenTra"])
                rec["DanhSachHoSoBoSung"] = [*rec["DanhSachHoSoBoSung"][:-1], last]
                push(e.at, [row(e.at, "4", name, "Tiếp nhận hồ sơ bổ sung")])
            elif e.type == "sent_to_tax":
                rec["TrangThaiHoSo"] = status(6)
                state["paused_at"], state["tax"] = e.at, state["tax"] + 1
                push(e.at, [row(e.at, "6", name, "Chuyển thông tin địa chính sang cơ quan thuế")])
            elif e.type == "tax_notice_issued":
                number = f"{rng.randrange(10**6, 10**7)}/TB-CCT"
                rec["ThongBaoThue"] = [*rec.get("ThongBaoThue", []),
                                       notice_document(dossier_id, number, e.at.astimezone(TZ).date())]
                state["notice"] = number
                push(e.at, [])
            elif e.type == "obligation_paid":
                self._resume(rec, unit, state, e.at)
                rec["ThongTinThanhToan"] = [*rec.get("ThongTinThanhToan", []), {
                    "ThoiGianThanhToan": self._time(unit, e.at), "MaThongBaoThue": state.get("notice", ""),
                    "DuocThanhToanTrucTuyen": 1 if e.fields.get("channel") == "online" else 0}]
                push(e.at, [row(e.at, "4", name, "Đã hoàn thành nghĩa vụ tài chính")])
            elif e.type == "result_attached":
                rec["DanhSachGiayToKetQua"] = [*rec["DanhSachGiayToKetQua"], {
                    "GiayToId": f"GCN-{dossier_id}", "TenGiayTo": "Giấy chứng nhận quyền sử dụng đất",
                    "DuongDanTepTinKetQua": e.fields.get("document_ref") or f"KQ/{dossier_id}.pdf"}]
                push(e.at, [row(e.at, "4", name, "Đính kèm kết quả điện tử")])
            elif e.type == "result_returned":
                rec["NgayTra"] = self._time(unit, e.at)
                if rec["NgayKetThucXuLy"]:
                    rec["TrangThaiHoSo"] = status(10)
                push(e.at, [row(e.at, "10", INTAKE_DESK, "Trả kết quả")] if rec["NgayKetThucXuLy"] else [])
            elif e.type == "concluded":
                rec.update(NgayKetThucXuLy=self._time(unit, e.at),
                           TrangThaiHoSo=status(10 if rec["NgayTra"] else 9))
                if e.fields.get("outcome") == "rejected":
                    rec["KetQuaXuLy"] = "Từ chối"
                state["nine_row"] = row(e.at, "9", name, "Hoàn thành xử lý")
                following = events[i + 1].type if i + 1 < len(events) else None
                if following == "result_returned" and not rec["NgayTra"] and rng.random() < SKIP_NINE:
                    continue  # this build syncs nothing now; the return pushes 10 (4 -> 10, no 9)
                push(e.at, [])
            elif e.type == "withdrawn":
                rec.update(TrangThaiHoSo=status(7), NgayKetThucXuLy=self._time(unit, e.at))
                push(e.at, [row(e.at, "7", name, "Công dân rút hồ sơ")])
        return out

    def _resume(self, rec: dict[str, Any], unit: str, state: dict[str, Any], at: datetime) -> None:
        """Back to 4 after a pause; the build moves NgayHenTra by the pause (the law would not)."""
        rec["TrangThaiHoSo"] = 4 if unit in QUIRKY_NINE else "4"
        if rec["NgayHenTra"] and state["paused_at"] is not None:
            fmt = "%Y-%m-%d %H:%M:%S" if unit in DASHED_TIMES else "%Y%m%d%H%M%S"
            promised = datetime.strptime(rec["NgayHenTra"], fmt).replace(tzinfo=TZ)
            rec["NgayHenTra"] = self._time(unit, self.calendar.after_pause(promised, at - state["paused_at"]))
        state["paused_at"] = None
