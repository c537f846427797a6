"""Input files as they really come: a byte order mark, gzip under any name, garbage.

A file mostly rejected must not look fine: the summary says so with the top reasons, and
`run --max-dead-letters` turns it into exit 3 for a data engineer's pipeline.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import orjson
import pytest

from tests.cli.helpers import cli
from tests.integration.helpers import query

pytestmark = pytest.mark.integration

D = "000.22.31.H53-240304-0001"


def events() -> list[bytes]:
    base = {"dossier_id": D, "agency_code": "000.22.31.H53"}
    return [orjson.dumps({**base, "event_id": "e1", "event_type": "received", "procedure_code": "1.012711",
                          "occurred_at": "2024-03-04T09:00:00+07:00"}),
            orjson.dumps({**base, "event_id": "e2", "event_type": "transferred", "to_unit": "001.22.31.H53",
                          "occurred_at": "2024-03-05T09:00:00+07:00"})]


def test_a_byte_order_mark_before_the_first_line_is_not_part_of_it(tmp_path: Path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(events()) + b"\n")

    done = cli("run", "--events", str(path), "--no-progress", store=tmp_path / "store")

    assert done.returncode == 0, done.stderr[-1500:]
    assert query(tmp_path / "store", "SELECT count() FROM dossier.events FINAL") == [(2,)]
    assert query(tmp_path / "store", "SELECT count() FROM dossier.dead_letters") == [(0,)]


def test_gzip_content_is_read_as_gzip_whatever_the_file_is_named(tmp_path: Path):
    path = tmp_path / "export.jsonl"  # gzip content, a plain name
    path.write_bytes(gzip.compress(b"\n".join(events()) + b"\n"))

    done = cli("run", "--events", str(path), "--no-progress", store=tmp_path / "store")

    assert done.returncode == 0, done.stderr[-1500:]
    assert query(tmp_path / "store", "SELECT count() FROM dossier.events FINAL") == [(2,)]


def test_a_file_of_garbage_is_called_so_with_the_top_reasons(tmp_path: Path):
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"\n".join(os.urandom(60).replace(b"\n", b"x") for _ in range(40)) + b"\n")

    done = cli("run", "--events", str(path), "--no-progress", store=tmp_path / "store")

    assert done.returncode == 0
    assert "Most lines were rejected" in done.stderr and "invalid_json: 40" in done.stderr


@pytest.mark.parametrize(("limit", "code"), [("10", 3), ("50%", 3), ("40", 0), ("100%", 0)])
def test_max_dead_letters_exits_3_beyond_its_limit(tmp_path: Path, limit: str, code: int):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([*events(), *[b"{oops" for _ in range(38)]]) + b"\n")  # 38 of 40 rejected

    done = cli("run", "--events", str(path), "--no-progress", "--max-dead-letters", limit, store=tmp_path / "store")

    assert done.returncode == code, done.stderr[-1500:]
    if code == 3:
        assert "run.too_many_dead_letters" in done.stderr


def test_a_bad_max_dead_letters_is_a_usage_error(tmp_path: Path):
    done = cli("run", "--events", str(tmp_path / "x.jsonl"), "--max-dead-letters", "lots")
    assert done.returncode == 2 and "--max-dead-letters" in done.stderr
