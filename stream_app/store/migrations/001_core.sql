-- The contract's core tables (docs/contract.md §3). Every table is idempotent:
-- ReplacingMergeTree keyed by a deterministic id, with a version where rows evolve.

CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id       String,
    dossier_id     String,
    event_type     LowCardinality(String),
    occurred_at    DateTime64(3, 'Asia/Ho_Chi_Minh'),
    agency_code    LowCardinality(String),
    procedure_code Nullable(String),
    channel        LowCardinality(Nullable(String)),
    source_due_at  Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    to_unit        Nullable(String),
    tax_office     Nullable(String),
    new_due_at     Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    outcome        LowCardinality(Nullable(String)),
    document_ref   Nullable(String),
    signed         Nullable(Bool),
    schema_version UInt16,
    ingested_at    DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree
ORDER BY (dossier_id, event_id);

CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    received_at  DateTime64(3, 'Asia/Ho_Chi_Minh'),
    source       String,
    raw          String,
    error_code   LowCardinality(String),
    error_detail String
)
ENGINE = ReplacingMergeTree
ORDER BY (source, error_code);

CREATE TABLE IF NOT EXISTS {db}.dossier_state
(
    dossier_id         String,
    procedure_code     Nullable(String),
    procedure_known    Bool,
    receiving_unit     LowCardinality(Nullable(String)),
    current_unit       LowCardinality(Nullable(String)),
    channel            LowCardinality(Nullable(String)),
    status             LowCardinality(String),
    received_at        Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    due_at             Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    extended_due_at    Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    extensions         UInt8,
    late_extensions    UInt8,
    finished_at        Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    outcome            LowCardinality(Nullable(String)),
    classification     LowCardinality(String),
    supplements        UInt8,
    sent_to_tax_at     Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    tax_due_at         Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    tax_notice_at      Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    paid_at            Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    payment_channel    LowCardinality(Nullable(String)),
    result_attached_at Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    result_returned_at Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    unit_hours         Map(String, Float64),
    overdue_cause      LowCardinality(Nullable(String)),
    overdue_unit       LowCardinality(Nullable(String)),
    active             Bool,
    version            UInt64,
    updated_at         DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY dossier_id;

CREATE TABLE IF NOT EXISTS {db}.alerts
(
    alert_id       String,
    kind           LowCardinality(String),
    dossier_id     String,
    unit           LowCardinality(Nullable(String)),
    receiving_unit LowCardinality(Nullable(String)),
    procedure_code Nullable(String),
    fires_at       DateTime64(3, 'Asia/Ho_Chi_Minh'),
    emitted_at     DateTime64(3, 'Asia/Ho_Chi_Minh'),
    due_at         Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    message        String,
    retracted      Bool,
    version        UInt8
)
ENGINE = ReplacingMergeTree(version)
ORDER BY alert_id;

-- How far event time has been processed: where a restarted worker resumes its clock.
CREATE TABLE IF NOT EXISTS {db}.stream_progress
(
    name       String,
    watermark  DateTime64(3, 'Asia/Ho_Chi_Minh'),
    updated_at DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(watermark)
ORDER BY name;
