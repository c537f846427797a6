-- What the sync converter has seen of each dossier (issue 21; stream_app/sync/seen.py).
-- A provincial system re-sends whole records; the converter compares each with this
-- snapshot and emits only the new lifecycle steps, so it survives restarts and continues
-- across files. One logical row per dossier (the highest version stands). It holds codes,
-- times and digests only, never a personal field. promised_at is the latest non-empty
-- NgayHenTra: the date the provincial system promised, read by the due-date audit.

CREATE TABLE IF NOT EXISTS {db}.sync_dossiers
(
    dossier_id  String,
    source_unit LowCardinality(Nullable(String)),
    status      LowCardinality(Nullable(String)),
    received_at Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    promised_at Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    snapshot    String,
    version     UInt64,
    updated_at  DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY dossier_id;
