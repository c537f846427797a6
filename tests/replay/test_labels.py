"""A dead letter names the line it came from, even in another process: the feed writes each
record's label before it sends the record (issue 17)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stream_app.kafka.broker import EmbeddedBroker
from stream_app.kafka.feed import send_feed, true_ends
from stream_app.kafka.labels import LabelFiles, MemoryLabels
from stream_app.replay.feed import FileFeed


def test_a_worker_reads_the_labels_the_feeding_process_wrote_and_waits_for_a_half_written_line(tmp_path: Path):
    writer, reader = LabelFiles(tmp_path), LabelFiles(tmp_path)
    writer.put(0, 7, "province.jsonl:12")
    writer.put(1, 0, "province.jsonl:13")
    writer.flush()
    assert reader.get((0, 7)) == "province.jsonl:12" and reader.get((1, 0)) == "province.jsonl:13"
    assert reader.get((0, 8)) is None and reader.get((0, 8), "dossier.events/0/8") == "dossier.events/0/8"
    with open(tmp_path / "0.labels", "a", encoding="utf-8") as f:
        f.write("8\tprovince.")  # the feed is still writing this line
    assert reader.get((0, 8)) is None
    with open(tmp_path / "0.labels", "a", encoding="utf-8") as f:
        f.write("jsonl:14\n")
    assert reader.get((0, 8)) == "province.jsonl:14"
    writer.close()


@pytest.mark.integration
def test_a_second_feed_counts_its_offsets_from_the_true_end_of_each_partition(tmp_path: Path):
    lines = [f'{{"event_id": "e{i}", "dossier_id": "000.22.31.H53-240304-{i:04d}"}}' for i in range(40)]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with EmbeddedBroker() as broker:
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic("t", 2, 1)])
        admin.close()
        labels: list[MemoryLabels] = []
        for _ in range(2):
            starts = asyncio.run(true_ends(broker.bootstrap, "t", 2, {}))
            mine = MemoryLabels()
            feed = FileFeed(path)
            sent = send_feed(feed.items(), name=feed.name, bootstrap=broker.bootstrap, topic="t", partitions=2,
                             client_config={}, labels=mine, starts=starts)
            assert sent.count == 40
            labels.append(mine)
        ends = asyncio.run(true_ends(broker.bootstrap, "t", 2, {}))
    assert sum(ends.values()) == 80
    first, second = labels
    assert sorted(first.values()) == sorted(second.values()) and len(first) == 40
    assert not set(first) & set(second)  # the second feed's offsets follow the first's
    assert max(o for (_, o) in second) < max(ends.values())
