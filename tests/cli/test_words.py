"""What a newcomer reads: flags that explain themselves, errors that name the flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import cli


def test_a_bad_as_of_names_the_flag_not_the_parser(tmp_path: Path):
    done = cli("run", "--events", str(tmp_path / "x.jsonl"), "--as-of", "yesterday")
    assert done.returncode == 2
    assert "--as-of" in done.stderr and "not a timestamp" in done.stderr and "_timestamp" not in done.stderr


def test_generate_explains_its_flags_and_their_defaults():
    done = cli("generate", "--help")
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert done.returncode == 0
    for words in ("months of intake (default: 2)", "monthly intake (default: 6000)",
                  "first day (YYYY-MM-DD) (default: 2023-10-01)", "same bytes (default: 1)"):
        assert words in text


def test_generate_into_a_missing_folder_says_so_instead_of_creating_it(tmp_path: Path):
    done = cli("generate", "--out", str(tmp_path / "nowhere" / "p.jsonl"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr and not (tmp_path / "nowhere").exists()


@pytest.mark.integration
def test_export_takes_a_unit_by_the_name_the_page_shows_and_reports_what_it_wrote(tmp_path: Path):
    store = tmp_path / "store"
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"event_id":"e1","event_type":"received","dossier_id":"000.22.31.H53-240304-0001",'
        '"occurred_at":"2024-03-04T09:00:00+07:00","agency_code":"004.22.31.H53","procedure_code":"1.012711"}\n',
        encoding="utf-8")
    assert cli("run", "--events", str(events), "--no-progress", store=store).returncode == 0

    done = cli("export", "--unit", "Chi nhánh huyện Tân Biên", "--out", str(tmp_path / "out.jsonl"), store=store)

    assert done.returncode == 0, done.stderr[-1500:]
    assert "exported 1 events" in done.stderr and "out.jsonl" in done.stderr
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") == 1


def test_an_unknown_unit_is_a_usage_error(tmp_path: Path):
    done = cli("export", "--unit", "Chi nhánh huyện Không Có", store=tmp_path / "store")
    assert done.returncode == 2 and "unknown unit" in done.stderr


def test_a_run_needs_at_least_one_worker_process(tmp_path: Path):
    done = cli("run", "--events", str(tmp_path / "x.jsonl"), "--workers", "0")
    assert done.returncode == 2
    assert "--workers" in done.stderr and "Traceback" not in done.stderr
