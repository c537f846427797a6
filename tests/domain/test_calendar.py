"""The working-time calendar, as docs/domain.md "Working time" and docs/contract.md §2 define it."""

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.domain.calendar import TZ, OfficeHours, WorkingCalendar

# Module-level rather than a fixture: hypothesis strategies below need it at import.
CAL = WorkingCalendar.load()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, ms: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=TZ)


H = timedelta(hours=1)


# -- due times: add_days ------------------------------------------------------------

@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        pytest.param(at(2024, 3, 4, 9), 8, at(2024, 3, 14, 9), id="DOMAIN: Monday 09:00 + 8 days -> Thursday next week 09:00"),
        pytest.param(at(2024, 3, 8, 16), 1, at(2024, 3, 11, 16), id="DOMAIN: Friday 16:00 + 1 day -> Monday 16:00"),
        pytest.param(at(2024, 3, 4, 18), 1, at(2024, 3, 5, 17), id="after 17:00: clock starts 07:00 next day"),
        pytest.param(at(2024, 3, 4, 12, 15), 1, at(2024, 3, 5, 11, 30), id="at lunch: clock starts 13:30"),
        pytest.param(at(2024, 3, 4, 5, 30), 1, at(2024, 3, 4, 17), id="before 07:00: clock starts 07:00"),
        pytest.param(at(2024, 3, 3, 10), 0.5, at(2024, 3, 4, 11), id="on Sunday: clock starts Monday 07:00"),
        pytest.param(at(2024, 3, 4, 9), 0.5, at(2024, 3, 4, 15), id="half a day crosses lunch"),
        pytest.param(at(2024, 3, 8, 13, 30), 1, at(2024, 3, 11, 11, 30), id="limit running out at 11:30 is due at 11:30"),
        pytest.param(at(2024, 3, 4, 7), 1, at(2024, 3, 4, 17), id="limit running out at 17:00 is due at 17:00"),
        pytest.param(at(2024, 2, 7, 10), 1, at(2024, 2, 15, 10), id="Tet 2024 (8-14 Feb) is skipped"),
        pytest.param(at(2026, 2, 13, 9), 1, at(2026, 2, 23, 9), id="Tet 2026 (16-20 Feb) is skipped"),
        pytest.param(at(2024, 4, 26, 9), 1, at(2024, 5, 2, 9), id="2024: Mon 29/4 off, then 30/4 and 1/5"),
        pytest.param(at(2024, 5, 3, 9), 1, at(2024, 5, 4, 9), id="2024: Saturday 4/5 is a working day"),
        pytest.param(at(2025, 4, 25, 9), 1, at(2025, 4, 26, 9), id="2025: Saturday 26/4 is a working day"),
        pytest.param(at(2025, 4, 29, 9), 1, at(2025, 5, 5, 9), id="2025: Fri 2/5 off after 30/4 and 1/5"),
        pytest.param(at(2025, 12, 31, 9), 1, at(2026, 1, 5, 9), id="2026: Fri 2/1 off after New Year"),
        pytest.param(at(2026, 1, 9, 9), 1, at(2026, 1, 10, 9), id="2026: Saturday 10/1 is a working day"),
        pytest.param(at(2026, 8, 21, 9), 1, at(2026, 8, 22, 9), id="2026: Saturday 22/8 is a working day"),
        pytest.param(at(2026, 8, 28, 9), 1, at(2026, 9, 3, 9), id="2026: Mon 31/8 off, then 1/9 and 2/9"),
    ],
)
def test_add_days(received, days, due):
    assert CAL.add_days(received, days) == due


def test_add_zero_is_clock_start():
    assert CAL.add(at(2024, 3, 4, 12), timedelta(0)) == at(2024, 3, 4, 13, 30)


def test_add_keeps_milliseconds():
    assert CAL.add(at(2024, 3, 4, 9, 0, 1, 250), H) == at(2024, 3, 4, 10, 0, 1, 250)


def test_result_is_in_vietnam_time_whatever_the_input_offset():
    due = CAL.add(datetime(2024, 3, 4, 2, tzinfo=timezone.utc), H)
    assert (due, due.tzinfo) == (at(2024, 3, 4, 10), TZ)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        CAL.add(datetime(2024, 3, 4, 9), H)


def test_a_garbage_year_is_refused_quickly():
    with pytest.raises(ValueError, match="year 9999"):
        CAL.add(datetime(9999, 1, 1, tzinfo=TZ), H)


def test_negative_working_time_is_refused():
    with pytest.raises(ValueError, match="negative"):
        CAL.add(at(2024, 3, 4, 9), -H)


# -- clock start ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("t", "start"),
    [
        pytest.param(at(2024, 3, 4, 6), at(2024, 3, 4, 7), id="before 07:00"),
        pytest.param(at(2024, 3, 4, 7), at(2024, 3, 4, 7), id="at 07:00"),
        pytest.param(at(2024, 3, 4, 9, 15, 30, 123), at(2024, 3, 4, 9, 15, 30, 123), id="inside a period"),
        pytest.param(at(2024, 3, 4, 11, 30), at(2024, 3, 4, 13, 30), id="at 11:30"),
        pytest.param(at(2024, 3, 4, 12), at(2024, 3, 4, 13, 30), id="lunch"),
        pytest.param(at(2024, 3, 4, 17), at(2024, 3, 5, 7), id="at 17:00"),
        pytest.param(at(2024, 3, 8, 17, 30), at(2024, 3, 11, 7), id="Friday evening"),
        pytest.param(at(2024, 3, 9, 10), at(2024, 3, 11, 7), id="Saturday"),
        pytest.param(at(2024, 2, 8, 10), at(2024, 2, 15, 7), id="Tet 2024"),
    ],
)
def test_clock_start(t, start):
    assert CAL.clock_start(t) == start


# -- subtract: "1 working day before due" --------------------------------------------

@pytest.mark.parametrize(
    ("t", "working", "expected"),
    [
        pytest.param(at(2024, 3, 11, 16), 8 * H, at(2024, 3, 8, 16), id="over a weekend, inside a period"),
        pytest.param(at(2024, 3, 11, 11, 30), 8 * H, at(2024, 3, 8, 13, 30), id="over weekend and lunch: Friday 13:30"),
        pytest.param(at(2024, 3, 11, 11, 30), 4.5 * H, at(2024, 3, 11, 7), id="ends at Monday 07:00, not Friday 17:00"),
        pytest.param(at(2024, 3, 5, 14, 30), H, at(2024, 3, 5, 13, 30), id="over lunch: 13:30, not 11:30"),
        pytest.param(at(2024, 3, 5, 14), H, at(2024, 3, 5, 11), id="across lunch"),
        pytest.param(at(2024, 3, 9, 10), H, at(2024, 3, 8, 16), id="from a Saturday"),
        pytest.param(at(2024, 5, 6, 11, 30), 8 * H, at(2024, 5, 4, 13, 30), id="make-up Saturday 4/5/2024 counts"),
        pytest.param(at(2024, 3, 5, 12), timedelta(0), at(2024, 3, 5, 12), id="zero: t itself"),
    ],
)
def test_subtract(t, working, expected):
    assert CAL.subtract(t, working) == expected


# -- between --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("a", "b", "working"),
    [
        pytest.param(at(2024, 3, 4, 9), at(2024, 3, 4, 10), H, id="within a period"),
        pytest.param(at(2024, 3, 4, 11), at(2024, 3, 4, 14), H, id="lunch not counted"),
        pytest.param(at(2024, 3, 8, 16), at(2024, 3, 11, 8), 2 * H, id="weekend not counted"),
        pytest.param(at(2024, 2, 7, 16), at(2024, 2, 15, 8), 2 * H, id="Tet not counted"),
        pytest.param(at(2024, 3, 4, 0), at(2024, 3, 5, 0), 8 * H, id="one working day is 8 hours"),
        pytest.param(at(2024, 3, 4, 10), at(2024, 3, 4, 9), timedelta(0), id="b before a"),
    ],
)
def test_between(a, b, working):
    assert CAL.between(a, b) == working


# -- days -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("d", "reason"),
    [
        (date(2024, 3, 4), None),
        (date(2024, 3, 9), "Thứ Bảy"),
        (date(2024, 3, 10), "Chủ nhật"),
        (date(2024, 2, 8), "29 Tết"),
        (date(2024, 2, 14), "Mùng năm Tết Nguyên Đán"),
        (date(2024, 4, 29), "Nghỉ bù (hoán đổi với thứ Bảy 04/05/2024)"),
        (date(2024, 5, 4), None),
        (date(2025, 5, 2), "Nghỉ bù (hoán đổi với thứ Bảy 26/04/2025)"),
        (date(2025, 4, 26), None),
        (date(2026, 1, 2), "Nghỉ bù (hoán đổi với thứ Bảy 10/01/2026)"),
        (date(2026, 1, 10), None),
        (date(2026, 8, 31), "Nghỉ bù (hoán đổi với thứ Bảy 22/08/2026)"),
        (date(2026, 8, 22), None),
        (date(2026, 9, 2), "Quốc khánh"),
    ],
)
def test_day_off_reason(d, reason):
    assert (CAL.is_working_day(d), CAL.day_off_reason(d)) == (reason is None, reason)


def test_local_date_and_start_of_the_next_day():
    t = datetime(2024, 3, 4, 23, 30, tzinfo=timezone.utc)  # 06:30 on 5 March in Hà Nội
    assert (CAL.local_date(t), CAL.start_of_next_day(t)) == (date(2024, 3, 5), at(2024, 3, 6, 0, 0))


# -- configuration --------------------------------------------------------------------

def test_office_hours_parse_default():
    hours = OfficeHours.parse("07:00-11:30, 13:30-17:00")
    assert (hours, hours.hours_per_day) == (OfficeHours(), 8.0)


def test_custom_office_hours_move_lunch_and_day_length():
    cal = WorkingCalendar(OfficeHours.parse("08:00-12:00,13:00-16:00"))
    assert (cal.working_day, cal.add(at(2024, 3, 4, 11), 2 * H)) == (7 * H, at(2024, 3, 4, 14))


@pytest.mark.parametrize("text", ["07:00", "07:00-11:30,11:00-17:00", "17:00-07:00", "7h-11h"])
def test_bad_office_hours_are_refused(text):
    with pytest.raises(ValueError):
        OfficeHours.parse(text)


def test_admin_file_adds_and_overrides_days(tmp_path):
    path = tmp_path / "calendar.toml"
    path.write_text(
        '[[day_off]]\ndate = 2027-03-08\nreason = "Nghỉ theo quyết định của tỉnh"\n'
        "[[day_off]]\ndate = 2024-05-04\n",
        encoding="utf-8",
    )
    cal = WorkingCalendar.load(path)
    assert [cal.day_off_reason(d) for d in (date(2027, 3, 8), date(2024, 5, 4), date(2024, 4, 29))] == [
        "Nghỉ theo quyết định của tỉnh",
        "Ngày nghỉ",
        "Nghỉ bù (hoán đổi với thứ Bảy 04/05/2024)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[days_off]]\ndate = 2027-03-08\n", "unknown key"),
        ("[[day_off]]\ndate = '8/3/2027'\n", "bare TOML date"),
        ("[[day_off]]\ndate = 2027-03-08\n[[working_day]]\ndate = 2027-03-08\n", "more than once"),
        ("[[day_off]\n", "not valid TOML"),
    ],
)
def test_bad_admin_file_names_the_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as raised:
        WorkingCalendar.load(path)
    assert str(path) in str(raised.value)


# -- laws -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.sampled_from([TZ, timezone.utc])
)
# Up to 40 working days, to the millisecond.
amounts = st.integers(0, 40 * 8 * 3600 * 1000).map(lambda ms: timedelta(milliseconds=ms))
positive_amounts = st.integers(1, 40 * 8 * 3600 * 1000).map(lambda ms: timedelta(milliseconds=ms))
PERIODS = OfficeHours().periods


def office_slot(t: datetime, *, closed_end: bool) -> bool:
    """Whether t is on a working day inside [start, end), or (start, end] with closed_end."""
    local = t.astimezone(TZ)
    clock = local.time()
    inside = any((s < clock <= e) if closed_end else (s <= clock < e) for s, e in PERIODS)
    return CAL.is_working_day(local.date()) and inside


def reference_add(t: datetime, working: timedelta) -> datetime:
    """Slow reference: walk forward period by period."""
    local, left = CAL.clock_start(t), working
    day = local.date()
    while True:
        if CAL.is_working_day(day):
            for s, e in PERIODS:
                start = max(datetime.combine(day, s, TZ), local)
                end = datetime.combine(day, e, TZ)
                if start < end:
                    if left <= end - start:
                        return start + left
                    left -= end - start
        day += timedelta(days=1)


@given(instants, positive_amounts)
def test_add_matches_a_period_by_period_walk(t, w):
    assert CAL.add(t, w) == reference_add(t, w)


@given(instants, amounts, amounts)
def test_add_is_monotonic_in_working_time(t, w1, w2):
    w1, w2 = sorted((w1, w2))
    assert CAL.add(t, w1) <= CAL.add(t, w2)


@given(instants, instants, amounts)
def test_add_is_monotonic_in_start(t1, t2, w):
    t1, t2 = sorted((t1, t2))
    assert CAL.add(t1, w) <= CAL.add(t2, w)


@given(instants, amounts)
def test_between_clock_start_and_add_is_the_working_time(t, w):
    assert CAL.between(CAL.clock_start(t), CAL.add(t, w)) == w


@given(instants, positive_amounts)
def test_subtract_undoes_add_back_to_clock_start(t, w):
    """subtract(add(t, w), w) == clock_start(t) for w > 0."""
    assert CAL.subtract(CAL.add(t, w), w) == CAL.clock_start(t)


@given(instants, positive_amounts)
def test_subtract_is_the_latest_moment_with_that_working_time_left(t, w):
    s = CAL.subtract(t, w)
    assert (CAL.between(s, t), CAL.between(s + timedelta(microseconds=1), t) < w) == (w, True)


@given(instants, positive_amounts)
def test_add_after_subtract_lands_at_the_same_office_position(t, w):
    """add(subtract(t, w), w) is t, or the end of the period t follows (t at lunch/night)."""
    back = CAL.add(CAL.subtract(t, w), w)
    assert back <= t and CAL.between(back, t) == timedelta(0)


@given(instants, positive_amounts)
def test_due_times_land_in_office_hours_or_exactly_at_a_period_end(t, w):
    assert office_slot(CAL.add(t, w), closed_end=True)


@given(instants, amounts)
def test_clock_start_and_subtract_land_inside_an_office_period(t, w):
    assert office_slot(CAL.clock_start(t), closed_end=False)
    if w:
        assert office_slot(CAL.subtract(t, w), closed_end=False)


@settings(max_examples=20)
@given(st.sampled_from(sorted(CAL.extra_working_days)))
def test_make_up_saturdays_have_a_full_working_day(d):
    assert (d.weekday(), CAL.between(datetime.combine(d, time(0), TZ), datetime.combine(d, time(23), TZ))) == (5, 8 * H)


# -- the table's horizon --------------------------------------------------------------

def test_the_shipped_table_confirms_the_years_it_checked():
    assert {2023, 2024, 2025, 2026} <= WorkingCalendar.load().confirmed
    assert 2027 not in WorkingCalendar.load().confirmed


def test_a_year_lists_its_weekday_holidays_and_swaps_with_their_source():
    days = {d: (works, source) for d, works, _, source in WorkingCalendar.load().days_of(2026)}
    assert days[date(2026, 1, 2)] == (False, "stream_app/data/calendar.toml")
    assert days[date(2026, 1, 10)] == (True, "stream_app/data/calendar.toml")
    assert days[date(2026, 4, 30)] == (False, "the holidays package (country VN)")


def test_an_administrators_file_confirms_a_year_and_names_itself(tmp_path):
    path = tmp_path / "2027.toml"
    path.write_text("confirmed = [2027]\n[[working_day]]\ndate = 2027-02-20\nreason = \"Làm bù\"\n", encoding="utf-8")
    cal = WorkingCalendar.load(path)
    assert 2027 in cal.confirmed
    assert (date(2027, 2, 20), True, "Làm bù", str(path)) in cal.days_of(2027)


def test_confirmed_must_be_a_list_of_years(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('confirmed = "2027"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="confirmed must be a list of years"):
        WorkingCalendar.load(path)
