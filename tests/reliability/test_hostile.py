"""Hostile input through the real `run` (issue 7, item 4).

Ten thousand fuzzed lines — random bytes, huge fields, deep nesting, wrong types,
invalid UTF-8, NUL bytes, future and ancient timestamps, dossier codes made of quotes
and SQL — with valid events among them. Every line is applied, recognised as a
duplicate, or ends in `dead_letters` with a contract code; nothing crashes and the
counts add up. Deterministic: one seeded generator.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from stream_app.domain.codes import ERROR_CODES
from tests.integration.helpers import run
from tests.reliability.helpers import query

pytestmark = pytest.mark.integration

RECORDS = 10_000
OFFICE = "000.22.31.H53"
AT = "2024-03-04T09:00:00+07:00"
# Valid dossier codes (1-64 characters, no control characters) that are also attacks.
HOSTILE_CODES = [
    "X'); DROP TABLE dossier.events; --",
    "' OR '1'='1",
    'quote"double',
    "back\\slash\\",
    "`backtick`",
    "{ids:Array(String)}",
    "%s%s%n",
    "﻿bom-and-‮rtl",
    "Nguyễn/Đ'ông",
    "💥" * 16,
]


def event(eid: str, kind: str, dossier: str, at: str = AT, **own: Any) -> dict[str, Any]:
    return {"event_id": eid, "event_type": kind, "dossier_id": dossier, "occurred_at": at,
            "agency_code": OFFICE, **own}


def received(eid: str, dossier: str, at: str = AT, **extra: Any) -> dict[str, Any]:
    return event(eid, "received", dossier, at, procedure_code="1.012711", **extra)


def crafted() -> list[tuple[bytes, str | None]]:
    """Lines with a known fate: (line, expected dead-letter code or None when applied)."""
    deep = b"[" * 5000 + b"]" * 5000
    nested = b'{"a":' * 2000 + b"1" + b"}" * 2000
    lines: list[tuple[Any, str | None]] = [
        *((received(f"sql-{i}", code), None) for i, code in enumerate(HOSTILE_CODES)),
        (received("huge-extra", "HUGE-1", applicant_name="A" * 600_000), None),  # ignored field
        (received("x" * 129, "HUGE-2"), "schema_error"),  # event_id over 128 characters
        (received("long-code", "D" * 65), "schema_error"),
        (received("future", "FUTURE-1", at="2100-12-31T23:59:59+07:00"), None),
        (received("too-future", "FUTURE-2", at="9999-12-31T23:59:59+00:00"), "schema_error"),
        (received("ancient", "ANCIENT-1", at="0001-01-01T00:00:00+00:00"), "schema_error"),
        (received("epoch", "ANCIENT-2", at="1969-12-31T23:59:59Z"), "schema_error"),
        (received("naive", "NAIVE-1", at="2024-03-04T09:00:00"), "naive_timestamp"),
        (received("feb30", "BAD-DATE", at="2024-02-30T09:00:00+07:00"), "schema_error"),
        (received("nul", "NUL\u0000CODE"), "schema_error"),
        (received("types", "TYPES-1") | {"event_id": 12345}, "schema_error"),
        (received("types2", "TYPES-2") | {"occurred_at": 1709517600}, "schema_error"),
        (received("types3", "TYPES-3") | {"procedure_code": ["1.012711"]}, "schema_error"),
        (received("types4", "TYPES-4") | {"schema_version": "1"}, "schema_error"),
        (event("nest", "received", "NEST-1", procedure_code={"a": {"b": {"c": [1, 2, [3]]}}}), "schema_error"),
        (event("orphan", "concluded", "NEVER-RECEIVED", outcome="approved"), "unknown_dossier"),
        (event("sql-after", "concluded", HOSTILE_CODES[0], at="2024-03-05T09:00:00+07:00",
               outcome="approved"), None),
        (event("sql-late", "transferred", HOSTILE_CODES[0], at="2024-03-06T09:00:00+07:00",
               to_unit="001.22.31.H53"), "invalid_transition"),
        (received("sql-0", HOSTILE_CODES[0]), "duplicate"),
        (event("type", "Received", "CASE-1"), "unknown_event_type"),
        (event("drop", "'; DROP TABLE x; --", "SQL-TYPE"), "unknown_event_type"),
        (b'{"event_id":"utf8","event_type":"received","dossier_id":"\xff\xfe","occurred_at":"' + AT.encode() + b'"}',
         "invalid_json"),
        (b"\x00\x00\x00{}", "invalid_json"),
        (deep, "invalid_json"),
        (nested, "invalid_json"),
        (b"{}", "schema_error"),
        (b"[]", "schema_error"),
        (b"null", "schema_error"),
        (b'"just a string"', "schema_error"),
        (b"12345678901234567890123456789", "schema_error"),
        (b'{"dossier_id":"\\ud800"}', "invalid_json"),
        (b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(20_000)) + b"}", "schema_error"),
    ]
    return [(line if isinstance(line, bytes) else orjson.dumps(line), code) for line, code in lines]


def fuzzed(rng: random.Random, n: int) -> Iterator[bytes]:
    """Random garbage and mangled events, never a blank line."""
    base = [orjson.dumps(received(f"f-{i}", f"FUZZ-{i % 300:03d}")) for i in range(50)]
    makers = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))),
        lambda: _mangle(rng, rng.choice(base)),
        lambda: _mangle(rng, rng.choice(base)) + bytes(rng.randrange(128, 256) for _ in range(3)),
        lambda: json.dumps(_wrong_types(rng, orjson.loads(rng.choice(base)))).encode(),
        lambda: orjson.dumps(received(f"v-{rng.randrange(10**9)}", f"FUZZ-{rng.randrange(300):03d}",
                                      at=f"2024-03-{rng.randint(4, 28):02d}T{rng.randint(0, 23):02d}:00:00+07:00")),
        lambda: rng.choice(base),  # a duplicate
        lambda: orjson.dumps(event(f"o-{rng.randrange(10**9)}", rng.choice(
            ["transferred", "concluded", "extended", "withdrawn", "sent_to_tax"]), f"FUZZ-{rng.randrange(600):03d}",
            at="2024-03-20T09:00:00+07:00")),
    ]
    for _ in range(n):
        line = rng.choice(makers)().replace(b"\n", b" ").replace(b"\r", b" ")
        if not line.strip():
            line = b"\x01" + line
        yield line


def _mangle(rng: random.Random, line: bytes) -> bytes:
    b = bytearray(line)
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i]
        else:
            b[i:i] = bytes([rng.randrange(256)])
    return bytes(b)


def _wrong_types(rng: random.Random, obj: dict[str, Any]) -> dict[str, Any]:
    key = rng.choice(list(obj))
    obj[key] = rng.choice([None, 0, -1, 1.5, True, [], {}, [obj.get(key)], "", "\u0000", 10**30])
    return obj


def write(path: Path) -> list[tuple[int, str | None]]:
    """The fuzz file; returns (line number, expected outcome) of the crafted lines."""
    rng = random.Random(7)
    known = crafted()
    lines = list(fuzzed(rng, RECORDS - len(known)))
    # Crafted lines go to random places in their own order: a dossier's events stay in sequence.
    places = sorted(rng.sample(range(RECORDS), len(known)))
    for n, (line, _) in zip(places, known):
        lines.insert(n, line)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return [(n + 1, code) for n, (_, code) in zip(places, known)]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, list[tuple[int, str | None]]]:
    tmp = tmp_path_factory.mktemp("hostile")
    expected = write(tmp / "hostile.jsonl")
    summary = run(tmp / "hostile.jsonl", tmp / "store")
    return tmp / "store", summary, expected


def test_every_record_is_applied_a_duplicate_or_a_dead_letter_and_the_counts_add_up(hostile):
    store, summary, _ = hostile
    stats = summary.stats
    dead = sum(v for k, v in stats.items() if k.startswith("dead_letter."))
    assert summary.records == RECORDS
    assert stats["applied"] + stats["duplicates"] + dead == RECORDS
    assert query(store, "SELECT count() FROM dossier.events FINAL") == [(stats["applied"],)]
    assert query(store, "SELECT count() FROM dossier.dead_letters FINAL") == [(dead,)]
    codes = dict(query(store, "SELECT error_code, count() FROM dossier.dead_letters FINAL GROUP BY error_code"))
    assert set(codes) <= set(ERROR_CODES)
    assert codes == {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith("dead_letter.")}


def test_crafted_lines_meet_their_expected_fate(hostile):
    store, _, expected = hostile
    got = dict(query(store, "SELECT source, error_code FROM dossier.dead_letters FINAL"))
    fate = {n: got.get(f"hostile.jsonl:{n}") for n, _ in expected}
    want = {n: (None if code == "duplicate" else code) for n, code in expected}
    assert fate == want


def test_dossier_codes_made_of_quotes_and_sql_are_stored_verbatim_and_harm_nothing(hostile):
    store, _, _ = hostile
    stored = {r[0] for r in query(store, "SELECT dossier_id FROM dossier.dossier_state FINAL "
                                         "WHERE dossier_id IN {ids:Array(String)}", ids=HOSTILE_CODES)}
    assert stored == set(HOSTILE_CODES)
    finished = query(store, "SELECT status FROM dossier.dossier_state FINAL WHERE dossier_id = {d:String}",
                     d=HOSTILE_CODES[0])
    assert finished == [("finished",)]
    tables = {r[0] for r in query(store, "SELECT name FROM system.tables WHERE database = 'dossier'")}
    assert {"events", "dead_letters", "dossier_state", "alerts", "stream_progress"} <= tables


def test_an_ignored_huge_field_is_not_stored(hostile):
    store, _, _ = hostile
    assert query(store, "SELECT count() FROM dossier.events FINAL WHERE dossier_id = 'HUGE-1'") == [(1,)]
    # Applied, so its raw line (and the 600 KB name in it) is kept nowhere.
    assert query(store, "SELECT count() FROM dossier.dead_letters WHERE position(raw, 'HUGE-1') > 0") == [(0,)]


def test_a_line_over_a_megabyte_is_a_dead_letter_not_a_crash(tmp_path: Path):
    # Over Kafka's 1 MB request limit: it cannot travel as a record, so it is a dead letter
    # with its file line; the run goes on and every other line is processed.
    path = tmp_path / "big.jsonl"
    big = orjson.dumps(received("big", "BIG-1", applicant_name="A" * 1_100_000))
    garbage = b"\xff" * 1_200_000  # no key, no time, not JSON
    path.write_bytes(big + b"\n" + orjson.dumps(received("ok", "OK-1")) + b"\n" + garbage + b"\n"
                     + orjson.dumps(event("ok-2", "transferred", "OK-1", to_unit="001.22.31.H53")) + b"\n")
    summary = run(path, tmp_path / "store")
    stats = summary.stats
    assert summary.records == stats["records"] == 4
    assert stats["applied"] == 2 and stats["dead_letter.schema_error"] == 2
    assert stats["applied"] + sum(v for k, v in stats.items() if k.startswith("dead_letter.")) == 4
    store = tmp_path / "store"
    assert query(store, "SELECT event_id FROM dossier.events FINAL ORDER BY event_id") == [("ok",), ("ok-2",)]
    rows = query(store, "SELECT source, error_code, length(raw), error_detail FROM dossier.dead_letters FINAL "
                        "ORDER BY source")
    assert [(r[0], r[1], r[2]) for r in rows] == [("big.jsonl:1", "schema_error", 64 * 1024),
                                                  ("big.jsonl:3", "schema_error", 64 * 1024)]
    assert f"{len(big)} bytes" in rows[0][3] and "1200000 bytes" in rows[1][3]
    assert "AAAA" not in rows[0][3]  # the detail names sizes, never the line's values
    # The same file again changes nothing (the dead letter's key is its source and code).
    run(path, store)
    assert query(store, "SELECT count() FROM dossier.dead_letters FINAL") == [(2,)]


def test_a_line_too_large_for_the_producer_is_rejected_with_its_line_and_a_truncated_raw(tmp_path: Path):
    from stream_app.kafka.producer import KEPT_RAW_BYTES, max_record_bytes, too_large

    assert max_record_bytes() == (1 << 20) - 4096
    assert max_record_bytes({"max_request_size": 10_000}) == 10_000 - 4096
    assert too_large("f.jsonl:1", b"x" * 100, b"K", 200) is None
    dead = too_large("f.jsonl:7", b"x" * 300_000, b"K", 200)
    assert dead is not None and dead.source == "f.jsonl:7" and dead.error_code == "schema_error"
    assert dead.raw == b"x" * KEPT_RAW_BYTES and "300000 bytes, limit 200" in dead.error_detail
    assert dead.error_code in ERROR_CODES
