"""`dossier-stream calendar YEAR`: a year's days off and make-up days, with their source."""

from __future__ import annotations

from tests.cli.helpers import cli


def test_an_unconfirmed_year_says_what_to_check_and_where_to_add_it():
    done = cli("calendar", "2027", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "04/02/2027" in done.stdout and "the holidays package (country VN)" in done.stdout
    assert "2027 is not confirmed" in done.stdout and "DOSSIER_CALENDAR" in done.stdout


def test_a_confirmed_year_shows_its_swaps_from_the_shipped_table():
    done = cli("calendar", "2026", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "10/01/2026" in done.stdout and "working day" in done.stdout and "stream_app/data/calendar.toml" in done.stdout
    assert "2026 is confirmed" in done.stdout


def test_a_year_out_of_range_is_a_usage_error():
    done = cli("calendar", "3000")
    assert done.returncode == 2 and "outside the calendar's range" in done.stderr
