"""The conversion: what was seen of a dossier + one new record → lifecycle events + what is seen now.

Pure and deterministic: no store, no clock, no Kafka. Each step of the lifecycle is
emitted once, when a record first shows it, from the most specific evidence there is:

- `received`: the first record at a status past intake (not 1 submitted, not 3 refused),
  at `NgayTiepNhan`, by the unit `DonViXuLy` names (else the sender, `madonvi`), with
  `source_due_at` = `NgayHenTra`;
- `transferred`: a progress entry whose `PhongBanXuLy` names another unit of the
  directory (at its `ThoiDiemXuLy`), or a record whose `DonViXuLy` does;
- `supplement_requested` / `supplement_received`: a new `DanhSachHoSoBoSung` entry
  (`NgayBoSung`, then `NgayTiepNhanBoSung`), or the status going to 5 and back to 4;
- `sent_to_tax` / `tax_notice_issued` / `obligation_paid`: status 6 (or a progress entry
  at 6), the portal's tax notice (dated by day only: the start of that day, never before
  the slip), the payment receipt (`ThoiGianThanhToan`, online when
  `DuocThanhToanTrucTuyen`), or the status going from 6 back to 4;
- `concluded` at `NgayKetThucXuLy` (9, or 10 without a 9 first), outcome rejected for a
  status 3 after intake, a status 8 read as a refusal, or the mapping's outcome field;
  `withdrawn` (7); `result_attached` per new result document; `result_returned` at `NgayTra`.

A step the record does not date is placed at the latest moment the records prove so far
(every time they carry and every progress entry met): never before anything already
known. Event ids name the dossier and the step (`<dossier>:sync:<step>`), so a record
converted twice — re-sent, or after a crash before its snapshot was stored — gives the
same events, which the pipeline then ignores as duplicates. What cannot be placed (a
status code the mapping lacks, a unit the directory lacks, intake without its time) is a
`Problem`, reported once per dossier and kind, while the rest of the record converts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from typing import Any

from stream_app.domain.calendar import TZ
from stream_app.domain.codes import SCHEMA_ERROR, UNMAPPED_RECORD
from stream_app.domain.directory import Directory
from stream_app.sync.mapping import Mapping
from stream_app.sync.records import DossierRecord, ProgressEntry
from stream_app.sync.seen import RECORDS_KEPT, Seen
from stream_app.sync.tax import read_notices

CHANNELS = {"1": "direct", "2": "online", "3": "postal"}
BEFORE_INTAKE = ("none", "submitted", "refused")
SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Problem:
    """Part of a record that cannot be placed: a dead letter with this code and detail."""

    code: str
    detail: str


@dataclass
class Conversion:
    events: list[dict[str, Any]] = field(default_factory=list)  # docs/contract.md §1 objects, in emission order
    seen: Seen | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.seen is not None and self.seen.version > 0


@dataclass(frozen=True)
class Context:
    """What a conversion reads besides the record: the deployment's mapping and units."""

    mapping: Mapping
    directory: Directory


def digest(*parts: object) -> str:
    return hashlib.blake2b("\x1f".join("" if p is None else str(p) for p in parts).encode(),
                           digest_size=8).hexdigest()


def iso(t: datetime) -> str:
    return t.astimezone(TZ).isoformat(timespec="milliseconds")


class _Work:
    """One conversion in progress: the seen fields as a mutable dict, and its output."""

    def __init__(self, seen: Seen, ctx: Context) -> None:
        self.before = seen
        self.w: dict[str, Any] = {f.name: getattr(seen, f.name) for f in fields(Seen)}
        self.ctx = ctx
        self.out = Conversion()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["w"][name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, **changes: Any) -> None:
        self.w.update(changes)

    def prove(self, *times: datetime | None) -> None:
        known = [t for t in (self.w["last_at"], *times) if t is not None]
        self.w["last_at"] = max(known) if known else None

    def moment(self) -> datetime:
        """When a step the record does not date happened: the latest moment proven so far."""
        known = [t for t in (self.w["last_at"], self.w["received_at"]) if t is not None]
        return max(known)

    def emit(self, step: str, kind: str, at: datetime, agency: str | None = None, **own: Any) -> None:
        event = {"event_id": f"{self.w['dossier_id']}:sync:{step}", "event_type": kind,
                 "dossier_id": self.w["dossier_id"], "occurred_at": iso(at),
                 "agency_code": agency or self.w["current_unit"] or self.w["receiving_unit"]}
        event.update({k: v for k, v in own.items() if v is not None})
        self.out.events.append(event)
        self.prove(at)

    def problem(self, key: str, code: str, detail: str) -> None:
        if key in self.w["reported"]:
            return
        self.w["reported"] = (*self.w["reported"], key)
        self.out.problems.append(Problem(code, detail))

    def done(self) -> Conversion:
        seen = Seen(**self.w)
        if seen.evolve(version=self.before.version) != self.before:
            seen = seen.evolve(version=self.before.version + 1)
            self.out.seen = seen
        return self.out


# ----------------------------------------------------------------- records


def convert_record(seen: Seen | None, record: DossierRecord, sender: str | None, ctx: Context) -> Conversion:
    """Compare one whole dossier record with what was seen; emit what is new.

    A record met before, whenever (a re-sent push, a file synced again), changes nothing:
    only a record the converter has not met is compared with the latest state.
    """
    work = _Work(seen or Seen(record.MaHoSo), ctx)
    key = digest(record.model_dump_json())
    if key in work.records:
        return work.done()
    work.set(records=(*work.records, key)[-RECORDS_KEPT:])
    work.set(source_unit=sender or work.source_unit, status=record.TrangThaiHoSo or work.status)
    if record.NgayHenTra is not None:
        work.set(promised_at=record.NgayHenTra)
    work.prove(record.NgayTiepNhan, record.NgayKetThucXuLy, record.NgayTra,
               *(t for s in record.DanhSachHoSoBoSung for t in (s.NgayBoSung, s.NgayTiepNhanBoSung)),
               *(p.ThoiGianThanhToan for p in record.ThongTinThanhToan))
    meaning = _meaning(work, record)
    if work.phase in BEFORE_INTAKE and not _receive(work, record, meaning, sender):
        return work.done()
    if work.ended is None:
        _unit(work, record)
        _supplements(work, record)
        _tax(work, record)
        _status(work, meaning)
    _documents(work, record)
    _end(work, record, meaning)
    return work.done()


def _meaning(work: _Work, record: DossierRecord) -> str | None:
    code, mapping = record.TrangThaiHoSo, work.ctx.mapping
    if code is None:
        return None
    meaning = mapping.meaning(code)
    if meaning is None:
        work.problem(f"status:{code}", UNMAPPED_RECORD,
                     f"TrangThaiHoSo {code[:16]!r} is not in the status mapping (DOSSIER_SYNC_MAPPING [status]); "
                     "the record's other fields were read")
    elif meaning == "processed" and record.NgayKetThucXuLy is None and mapping.processed_without_end == "evidence":
        return None  # one build's 5, 6 or 8 sent as 9: the lists and receipts tell
    return meaning


def _receive(work: _Work, record: DossierRecord, meaning: str | None, sender: str | None) -> bool:
    """The intake step; False while the dossier is not received (nothing else to read)."""
    if meaning in (None, "submitted", "refused"):
        if meaning is not None:
            work.set(phase=meaning)
        return False
    if record.NgayTiepNhan is None:
        work.problem("intake", UNMAPPED_RECORD,
                     f"TrangThaiHoSo {record.TrangThaiHoSo} but no NgayTiepNhan: the dossier cannot be received yet")
        return False
    if record.MaTTHC is None:
        work.problem("intake", UNMAPPED_RECORD, "no MaTTHC: the dossier cannot be received without its procedure")
        return False
    directory = work.ctx.directory
    named = directory.resolve_unit(record.DonViXuLy)
    unit = named if directory.knows(named) else sender
    if unit is None:
        work.problem("intake", UNMAPPED_RECORD, "no madonvi and no DonViXuLy of the unit directory: no receiving unit")
        return False
    work.set(receiving_unit=unit, current_unit=unit, received_at=record.NgayTiepNhan, phase="open")
    work.emit("received", "received", record.NgayTiepNhan, unit, procedure_code=record.MaTTHC,
              channel=CHANNELS.get(record.KenhThucHien or ""), source_due_at=_iso_or_none(record.NgayHenTra))
    return True


def _iso_or_none(t: datetime | None) -> str | None:
    return None if t is None else iso(t)


def _unit(work: _Work, record: DossierRecord) -> None:
    if record.DonViXuLy is None:
        return
    directory = work.ctx.directory
    code = directory.resolve_unit(record.DonViXuLy)
    if not directory.knows(code):
        work.problem(f"unit:{digest(record.DonViXuLy)}", UNMAPPED_RECORD,
                     f"DonViXuLy {record.DonViXuLy[:120]!r} is not in the unit directory (DOSSIER_UNITS: add it, "
                     "or an alias); the dossier stays where it was")
        return
    _transfer(work, code, work.moment())


def _transfer(work: _Work, code: str, at: datetime) -> None:
    if code != work.current_unit:
        n = work.transfers + 1
        work.emit(f"transferred:{n}", "transferred", at, work.current_unit, to_unit=code)
        work.set(current_unit=code, transfers=n)


def _request_supplement(work: _Work, at: datetime) -> None:
    n = len(work.supplements) + 1
    work.emit(f"supplement_requested:{n}", "supplement_requested", at)
    work.set(supplements=(*work.supplements, iso(at)), supplement_since=at, phase="supplement")


def _supplement_back(work: _Work, at: datetime) -> None:
    work.emit(f"supplement_received:{len(work.supplements)}", "supplement_received", at)
    work.set(phase="open")


def _supplements(work: _Work, record: DossierRecord) -> None:
    entries = sorted((s for s in record.DanhSachHoSoBoSung if s.NgayBoSung is not None), key=lambda s: s.NgayBoSung)
    for entry in entries:
        asked, back = entry.NgayBoSung, entry.NgayTiepNhanBoSung
        since = work.supplement_since
        if work.phase == "open" and iso(asked) not in work.supplements and (since is None or asked > since):
            _request_supplement(work, asked)
        if back is not None and work.phase == "supplement" and back >= work.supplement_since:
            _supplement_back(work, back)
        if entry.NgayHenTraMoi is not None and record.NgayHenTra is None:
            work.set(promised_at=entry.NgayHenTraMoi)


def _send_to_tax(work: _Work, at: datetime) -> None:
    n = work.tax_rounds + 1
    work.emit(f"sent_to_tax:{n}", "sent_to_tax", at)
    work.set(tax_rounds=n, tax_since=at, phase="tax")


def _tax(work: _Work, record: DossierRecord) -> None:
    notices = []
    for document in record.ThongBaoThue:
        try:
            notices += [n for n in read_notices(document) if n.dossier_id in ("", record.MaHoSo)]
        except ValueError as exc:
            work.problem(f"tax:{digest(document)}", SCHEMA_ERROR, str(exc))
    for notice in sorted(notices, key=lambda n: n.day)[work.tax_noticed:]:
        if work.phase == "open":
            _send_to_tax(work, work.moment())
        if work.phase != "tax" or work.tax_noticed >= work.tax_rounds:
            break
        start_of_day = datetime.combine(notice.day, time(0), TZ)
        n = work.tax_noticed + 1
        work.emit(f"tax_notice_issued:{n}", "tax_notice_issued", max(start_of_day, work.tax_since + SECOND))
        work.set(tax_noticed=n)
    for payment in sorted((p for p in record.ThongTinThanhToan if p.ThoiGianThanhToan is not None),
                          key=lambda p: p.ThoiGianThanhToan):
        key = f"{iso(payment.ThoiGianThanhToan)}|{payment.MaThongBaoThue or ''}"
        if key in work.payments:
            continue
        work.set(payments=(*work.payments, key))
        paid = payment.ThoiGianThanhToan
        if work.phase == "open":
            _send_to_tax(work, min(work.moment(), paid - SECOND))
        if work.phase == "tax":
            online = payment.DuocThanhToanTrucTuyen
            online = record.DuocThanhToanTrucTuyen if online is None else online
            channel = None if online is None else ("online" if online else "counter")
            work.emit(f"obligation_paid:{work.tax_rounds}", "obligation_paid", max(paid, work.tax_since + SECOND),
                      channel=channel)
            work.set(phase="open")


def _status(work: _Work, meaning: str | None) -> None:
    """Pauses and resumptions the status alone shows (no list entry, no receipt dated them)."""
    phase, stopped = work.phase, work.ctx.mapping.stopped
    if phase == "open" and (meaning == "supplement" or (meaning == "stopped" and stopped == "paused")):
        _request_supplement(work, work.moment())
    elif phase == "open" and meaning == "tax":
        _send_to_tax(work, work.moment())
    elif meaning in ("received", "in_process"):
        if phase == "supplement":
            _supplement_back(work, work.moment())
        elif phase == "tax":
            work.emit(f"obligation_paid:{work.tax_rounds}", "obligation_paid", work.moment())
            work.set(phase="open")


def _documents(work: _Work, record: DossierRecord) -> None:
    for document in record.DanhSachGiayToKetQua:
        if document.key is None:
            continue
        key = digest(document.key)
        if key not in work.documents:
            work.emit(f"result_attached:{key}", "result_attached", work.moment(), document_ref=document.ref)
            work.set(documents=(*work.documents, key))


def _end(work: _Work, record: DossierRecord, meaning: str | None) -> None:
    mapping = work.ctx.mapping
    if work.ended is None:
        ended = record.NgayKetThucXuLy
        if meaning == "withdrawn":
            work.emit("withdrawn", "withdrawn", ended or work.moment())
            work.set(ended="withdrawn", phase="ended")
        elif meaning in ("processed", "returned", "refused") or (meaning == "stopped" and mapping.stopped == "rejected"):
            rejected = meaning in ("refused", "stopped") or mapping.rejected(record.outcome_hint)
            at = ended or (record.NgayTra if meaning == "returned" else None) or work.moment()
            work.emit("concluded", "concluded", at, outcome="rejected" if rejected else "approved")
            work.set(ended="concluded", phase="ended")
    if not work.returned and (record.NgayTra is not None or meaning == "returned"):
        work.emit("result_returned", "result_returned", record.NgayTra or work.moment())
        work.set(returned=True)


# --------------------------------------------------------------- progress


def convert_progress(seen: Seen | None, dossier_id: str, entries: list[ProgressEntry], sender: str | None,
                     ctx: Context) -> Conversion:
    """Progress entries of one dossier: they date the steps and show transfers.

    An entry already met (synthetic rows come again with every push) changes nothing.
    Only an entry at or after everything known so far may open a step: an older one is
    history the records have passed (a re-sent intake row must not move the dossier back).
    """
    work = _Work(seen or Seen(dossier_id), ctx)
    work.set(source_unit=sender or work.source_unit)
    directory, mapping = ctx.directory, ctx.mapping
    for entry in sorted((e for e in entries if e.ThoiDiemXuLy is not None), key=lambda e: e.ThoiDiemXuLy):
        key = digest(iso(entry.ThoiDiemXuLy), entry.PhongBanXuLy, entry.TrangThai)
        if key in work.progress:
            continue
        work.set(progress=(*work.progress, key))
        at = entry.ThoiDiemXuLy
        fresh = work.last_at is None or at >= work.last_at
        work.prove(at)
        if not fresh or work.phase in BEFORE_INTAKE or work.ended is not None:
            continue
        unit = directory.resolve_unit(entry.PhongBanXuLy)
        if directory.knows(unit):
            _transfer(work, unit, at)  # a department of the unit is not a unit: never a transfer
        meaning = mapping.meaning(entry.TrangThai)
        if work.phase == "open" and meaning == "supplement":
            _request_supplement(work, at)
        elif work.phase == "open" and meaning == "tax":
            _send_to_tax(work, at)
    return work.done()
