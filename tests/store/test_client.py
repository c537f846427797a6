"""Lists of codes sent as one query parameter: whole in process, in bounded slices over HTTP."""

from __future__ import annotations

from pathlib import Path

from stream_app.store.client import FIELD_BYTES, connect, in_chunks

CODES = [f"000.22.31.H53-240304-{i:05d}" for i in range(12_000)]


def test_over_http_a_list_goes_in_slices_the_server_accepts_and_nothing_is_left_out():
    server = object()  # any client but the in-process engine
    slices = list(in_chunks(CODES, server))
    assert len(slices) > 1
    assert all(sum(len(c) + 8 for c in s) <= FIELD_BYTES for s in slices)
    assert [c for s in slices for c in s] == CODES


def test_in_process_a_list_goes_whole(tmp_path: Path):
    client = connect(f"chdb://{tmp_path / 'store'}")
    try:
        assert list(in_chunks(CODES, client)) == [CODES]
        assert list(in_chunks([], client)) == []
    finally:
        client.close()
