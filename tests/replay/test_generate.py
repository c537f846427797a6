"""The synthetic province: deterministic, time-sorted, valid, calibrated, streamed."""

from __future__ import annotations

import gzip
import re
import time
import tracemalloc
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import pytest

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.dossier import DossierState, Rules
from stream_app.domain.events import DossierEvent
from stream_app.replay.generate import GenerateStats, generate
from stream_app.replay.province import HABITS, OFFICE, load_units
from stream_app.schemas.parse import DeadLetter, parse_line

# Small enough for the default suite (~1 s), large enough for stable rates.
SMALL = {"months": 2, "dossiers_per_month": 1_500, "seed": 1}
DOSSIER_CODE = re.compile(r"^[0-9A-Z.]+-\d{6}-\d{4}$")
FEED_NOISE = {"invalid_json", "schema_error", "naive_timestamp", "unknown_event_type"}


class Generated:
    """One generated file, parsed once for all the tests that read it."""

    def __init__(self, path: Path, stats: GenerateStats) -> None:
        self.path, self.stats = path, stats
        self.lines = path.read_bytes().splitlines()
        self.parsed = [parse_line(line, source=f"{path.name}:{n}") for n, line in enumerate(self.lines, 1)]
        self.events = [p for p in self.parsed if not isinstance(p, DeadLetter)]
        self.dead = [p for p in self.parsed if isinstance(p, DeadLetter)]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    path = tmp_path_factory.mktemp("replay") / "province.jsonl"
    return Generated(path, generate(path, **SMALL))


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.load()


# -- determinism ---------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes(tmp_path: Path, small: Generated) -> None:
    again = tmp_path / "again.jsonl"
    generate(again, **SMALL)
    assert again.read_bytes() == small.path.read_bytes()


def test_another_seed_gives_another_file(tmp_path: Path, small: Generated) -> None:
    other = tmp_path / "other.jsonl"
    generate(other, **{**SMALL, "seed": 2})
    assert other.read_bytes() != small.path.read_bytes()


def test_gzip_output_is_deterministic_and_holds_the_same_lines(tmp_path: Path) -> None:
    args = {"months": 1, "dossiers_per_month": 200, "seed": 5}
    plain, first, second = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    generate(plain, **args)
    generate(first, **args)
    generate(second, **args)
    assert first.read_bytes() == second.read_bytes()
    assert gzip.decompress(first.read_bytes()) == plain.read_bytes()


# -- the feed ------------------------------------------------------------------------


def test_valid_events_are_sorted_by_occurred_at(small: Generated) -> None:
    times = [e.occurred_at for e in small.events]
    assert times == sorted(times)


def test_every_line_not_meant_malformed_passes_the_schema(small: Generated) -> None:
    assert len(small.dead) == small.stats.malformed
    assert len(small.events) == small.stats.events + small.stats.duplicates
    assert len(small.lines) == small.stats.lines


def test_malformed_lines_are_the_kinds_a_real_feed_has(small: Generated) -> None:
    kinds = Counter(d.error_code for d in small.dead)
    assert set(kinds) == FEED_NOISE


def test_malformed_and_duplicate_shares_are_about_half_a_percent(small: Generated) -> None:
    assert 0.002 <= small.stats.malformed / small.stats.lines <= 0.009
    assert 0.002 <= small.stats.duplicates / small.stats.lines <= 0.009
    ids = Counter(e.event_id for e in small.events)
    assert sum(n - 1 for n in ids.values()) == small.stats.duplicates


def test_event_ids_are_dossier_code_and_step(small: Generated) -> None:
    for e in small.events:
        assert e.event_id.startswith(e.dossier_id + ":")


def test_dossier_codes_are_unit_date_and_daily_sequence(small: Generated) -> None:
    units = load_units()
    received = {e.event_id: e for e in small.events if e.event_type == "received"}.values()
    assert len({e.dossier_id for e in received}) == len(received)
    for e in received:
        assert DOSSIER_CODE.match(e.dossier_id), e.dossier_id
        unit, day, _ = e.dossier_id.rsplit("-", 2)
        assert unit == e.agency_code and units[unit].kind in ("office", "branch")
        assert day == e.occurred_at.strftime("%y%m%d")


def test_every_dossier_opens_with_its_received_event(small: Generated) -> None:
    opened: set[str] = set()
    for e in small.events:
        if e.event_type == "received":
            opened.add(e.dossier_id)
        assert e.dossier_id in opened, e.event_id
    assert len(opened) == small.stats.dossiers


def test_personal_fields_appear_in_the_feed_and_never_survive_parsing(small: Generated) -> None:
    assert any(b'"applicant_name"' in line for line in small.lines)
    assert not any(hasattr(e, "applicant_name") or hasattr(e, "phone") for e in small.events)


def test_only_online_receipts_happen_when_offices_are_closed(small: Generated, calendar: WorkingCalendar) -> None:
    closed = [e for e in small.events if not calendar.is_working_day(calendar.local_date(e.occurred_at))]
    assert closed, "online filings at weekends are part of a real feed"
    assert {(e.event_type, e.channel) for e in closed} == {("received", "online")}
    online = [e for e in small.events if e.event_type == "received" and e.channel == "online"]
    assert len(closed) / len(online) < 0.3


def test_desk_events_happen_in_office_hours(small: Generated, calendar: WorkingCalendar) -> None:
    desk = [e for e in small.events if not (e.event_type == "received" and e.channel == "online")]
    for e in desk:
        local = e.occurred_at.astimezone(calendar.tz).time()
        assert calendar.clock_start(e.occurred_at) == e.occurred_at or local.strftime("%H:%M") in ("11:30", "17:00")


def test_the_channels_and_tax_payment_channels_all_occur(small: Generated) -> None:
    channels = Counter(e.channel for e in small.events if e.event_type in ("received", "obligation_paid"))
    assert set(channels) == {"direct", "online", "postal", "counter"}


# -- calibration (late 2023: 17.8-20.7 % late, most in the branches) ----------------


def test_overall_overdue_rate_of_finished_dossiers_is_as_the_province_saw(small: Generated) -> None:
    assert 0.17 <= small.stats.total.overdue_rate <= 0.22


def test_every_branch_is_later_than_the_office(small: Generated) -> None:
    units = load_units()
    office = small.stats.units[next(c for c in HABITS if units[c].kind == OFFICE)]
    branches = [s for c, s in small.stats.units.items() if units[c].kind != OFFICE]
    assert all(b.overdue_rate > office.overdue_rate for b in branches)
    assert max(b.overdue_rate for b in branches) > 0.25  # one or two particularly bad


def test_about_half_of_transfers_and_inheritance_go_to_tax(small: Generated) -> None:
    total = small.stats.total
    assert total.transfer_inheritance > 0.4 * total.received
    assert 0.4 <= total.transfer_inheritance_to_tax / total.transfer_inheritance <= 0.6


def test_every_failure_mode_the_task_force_hunts_is_present(small: Generated) -> None:
    total = small.stats.total
    for name in ("late_tax_notice", "supplement", "moved", "extended", "late_extension",
                 "left_open", "missing_result", "withdrawn", "rejected", "open_overdue"):
        assert getattr(total, name) > 0, name
    assert total.late_extension < total.extended


def test_ground_truth_counts_add_up(small: Generated) -> None:
    for stats in [small.stats.total, *small.stats.months.values()]:
        assert stats.finished == stats.early + stats.on_time + stats.overdue
    assert sum(m.finished for m in small.stats.months.values()) == small.stats.total.finished
    assert sum(m.received for m in small.stats.months.values()) == small.stats.total.received


def test_ground_truth_equals_what_the_domain_core_computes_from_the_file(
    small: Generated, calendar: WorkingCalendar
) -> None:
    """The generator's own judgement and the state machine agree, dossier by dossier."""
    rules, states, seen = Rules(calendar, Catalog.load()), {}, set()
    for e in small.events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        state = states.setdefault(e.dossier_id, DossierState(e.dossier_id))
        assert state.apply(DossierEvent.from_model(e), rules) is None, e.event_id
    core: dict[str, Counter[str]] = {}
    for state in states.values():
        tally = core.setdefault(state.receiving_unit, Counter())
        tally[state.finish_classification(calendar) or "open"] += 1
    for unit, truth in small.stats.units.items():
        assert (truth.early, truth.on_time, truth.overdue, truth.open) == tuple(
            core[unit][c] for c in ("early", "on_time", "overdue", "open")
        ), unit


def test_the_first_month_is_not_a_warm_up(small: Generated) -> None:
    """The lead-in's dossiers finish in the first month, so its rate is not artificially low."""
    first, second = (small.stats.months[date(2023, m, 1)] for m in (10, 11))
    assert abs(first.overdue_rate - second.overdue_rate) < 0.05


def test_after_tet_the_desks_face_a_backlog(tmp_path: Path, calendar: WorkingCalendar) -> None:
    path = tmp_path / "tet.jsonl"
    generate(path, months=1, dossiers_per_month=2_000, start=date(2024, 2, 1), lead_in=False)
    per_day: Counter[date] = Counter()
    for line in path.read_bytes().splitlines():
        e = parse_line(line, source="tet")
        if not isinstance(e, DeadLetter) and e.event_type == "received" and e.channel != "online":
            per_day[calendar.local_date(e.occurred_at)] += 1
    tet = [date(2024, 2, d) for d in range(8, 15)]
    assert not any(per_day[d] for d in tet)
    before = sum(per_day[date(2024, 2, d)] for d in (1, 2, 5, 6, 7)) / 5
    after = sum(per_day[date(2024, 2, d)] for d in (15, 16)) / 2
    assert after > 1.2 * before


# -- streaming -----------------------------------------------------------------------


def test_a_year_streams_in_bounded_memory(tmp_path: Path) -> None:
    """The peak is a small fraction of the file: the year is never held at once."""
    path = tmp_path / "year.jsonl"
    generate(path, months=1, dossiers_per_month=20)  # load tables and modules first
    tracemalloc.start()
    try:
        stats = generate(path, months=12, dossiers_per_month=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(stats.months) == [date(2023, m, 1) for m in range(10, 13)] + [date(2024, m, 1) for m in range(1, 10)]
    assert peak < path.stat().st_size / 5


def _generate_measured(path: Path) -> tuple[GenerateStats, float]:
    """In a fresh interpreter: a large year generated, with that process's own peak RSS
    (VmHWM, in MiB; what the rest of the test session held is not counted)."""
    stats = generate(path, months=12, dossiers_per_month=20_000)
    with open("/proc/self/status") as f:
        peak_kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return stats, peak_kib / 1024


@pytest.mark.slow
def test_a_year_of_a_large_province(tmp_path: Path) -> None:
    """~240 000 dossiers, ~1.5 M events: calibrated and in bounded memory."""
    path = tmp_path / "large.jsonl.gz"
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        stats, rss_mib = pool.submit(_generate_measured, path).result()
    elapsed = time.perf_counter() - started
    assert stats.total.received > 220_000
    assert 0.17 <= stats.total.overdue_rate <= 0.22
    for month in stats.months.values():
        assert 0.15 <= month.overdue_rate <= 0.25
    assert rss_mib < 1024, f"peak RSS {rss_mib:.0f} MiB"
    print(f"{stats.events} events in {elapsed:.0f} s, {stats.events / elapsed:.0f} events/s, peak {rss_mib:.0f} MiB")
