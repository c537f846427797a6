-- The webhook outbox (issue 7; see sinks/webhook.py and docs/reliability.md).
-- One row per alert message (an alert, or its retraction) and configured endpoint.
-- Written 'pending' before the alert row itself, then 'delivered' or 'failed' after
-- the POSTs; a worker posts what is still pending when it starts, so a crash between
-- writing an alert and posting it loses nothing. The endpoint is a hash of the URL
-- (a URL may carry a token); the payload holds alert fields only.
-- The version makes a status final: pending 1 < failed 2 < delivered 3.

CREATE TABLE IF NOT EXISTS {db}.webhook_deliveries
(
    delivery_id String,
    endpoint    String,
    alert_id    String,
    payload     String,
    status      LowCardinality(String),
    attempts    UInt16,
    version     UInt8,
    updated_at  DateTime64(3, 'Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (delivery_id, endpoint);
