-- The outbox of every channel (issue 22; store/outbox.py, docs/alerts.md, docs/reliability.md).
-- One row per message a notifier owes and endpoint: the alerts topic, each webhook URL, each
-- unit's e-mail recipients and the task force's. Written 'pending' before the alert rows
-- themselves; a message travels in a batch (one POST, one Kafka message, one e-mail): the
-- message alone (batch = delivery_id), or a digest of several, whose id is assigned when the
-- batch is formed ('sending') so that a send repeated after a crash carries the same id and
-- content. The version makes a status final: pending 1 < sending 2 < failed 3 < delivered 4.
-- endpoint: the topic's name, a hash of a webhook URL (a URL may carry a token), a unit code
-- or 'task_force' (the addresses live in DOSSIER_MAIL_RECIPIENTS, never here). The payload
-- holds alert fields, or the figures of a morning digest: no personal data.
-- Replaces webhook_deliveries (003): its rows are carried over, then it is dropped.

CREATE TABLE IF NOT EXISTS {db}.outbox
(
    channel     LowCardinality(String),
    endpoint    String,
    delivery_id String,
    alert_id    String,
    unit        String,
    fires_at    Nullable(DateTime64(3, 'Asia/Ho_Chi_Minh')),
    payload     String,
    batch       String,
    status      LowCardinality(String),
    attempts    UInt16,
    version     UInt8,
    updated_at  DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (channel, endpoint, delivery_id);

INSERT INTO {db}.outbox
SELECT 'webhook', endpoint, delivery_id, alert_id, '', NULL, payload, delivery_id, status, attempts,
       multiIf(status = 'delivered', 4, status = 'failed', 3, 1), updated_at
FROM {db}.webhook_deliveries FINAL;

DROP TABLE IF EXISTS {db}.webhook_deliveries;
