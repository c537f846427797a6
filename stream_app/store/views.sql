-- The analytics views (docs/contract.md §3): dossier_facts, unit_daily, monthly_report, and the
-- helper views they share (stream_clock, dossier_breaches, dossier_restarts).
--
-- Views hold no rows of their own: they read dossier_state FINAL, alerts FINAL, events
-- and stream_progress FINAL, so they are exact under replays, restarts and late events
-- by construction, and nothing here can drift from the core tables. `migrate()`
-- re-creates every one of them each time it runs, so a view changes by editing it here.
--
-- "Overdue at an instant T" (the end of a day or of a month) for a dossier still open at
-- T: a standing (not retracted) sla_breach alert fired at or before T, and no
-- supplement_received after that breach and before T (the supplement restarts the time
-- limit from zero, so the dossier is back within a fresh limit). This is the stream's own
-- rule for dossier_state.classification = 'open_overdue', applied at T. The breach fires at
-- 00:00 of the day after the due date, so a dossier due on the last day of a period and
-- still open at its end (local midnight) is overdue at that end: its due date is before it.
--
-- monthly_report is one GROUP BY (unit, month) over a UNION ALL of the unit's month
-- series and the dossiers' (month, kind) rows, so that `WHERE month = …` on the view is a
-- filter on a grouping key that ClickHouse pushes into every branch, right after the
-- ARRAY JOIN that gives each row its month: only the month's rows are joined to their
-- breach and restart times and counted (under a second over 10 M events). The restart
-- times are deduplicated by (dossier_id, event_id), the key `events FINAL` deduplicates
-- on, instead of reading that table FINAL.
--
-- Every time is DateTime64(3, 'Asia/Ho_Chi_Minh'): toDate/toStartOfMonth give the local
-- calendar day and month; a period end is local midnight of the next day. No statement
-- may contain a semicolon except as its terminator (see migrate()).

-- The stream's current time: the latest of the stream watermark and every time in
-- dossier_state (null on an empty store).
CREATE OR REPLACE VIEW {db}.stream_clock AS
SELECT max(t) AS now_at
FROM
(
    SELECT arrayJoin([max(received_at), max(finished_at), max(paid_at)]) AS t FROM {db}.dossier_state FINAL
    UNION ALL
    SELECT CAST(max(watermark), 'Nullable(DateTime64(3, \'Asia/Ho_Chi_Minh\'))') FROM {db}.stream_progress FINAL
);

-- Per dossier: the fire times of its standing sla_breach alerts, sorted, and the
-- due time each of them was about.
CREATE OR REPLACE VIEW {db}.dossier_breaches AS
SELECT
    dossier_id,
    arraySort(groupArray(fires_at))                               AS breach_times,
    arrayMap(x -> x.2, arraySort(groupArray((fires_at, due_at)))) AS breach_due_at
FROM {db}.alerts FINAL
WHERE kind = 'sla_breach' AND NOT retracted
GROUP BY dossier_id;

-- Per dossier: the times of its supplement_received events, sorted (each event once).
CREATE OR REPLACE VIEW {db}.dossier_restarts AS
SELECT dossier_id, arraySort(groupArray(occurred_at)) AS restart_times
FROM
(
    SELECT dossier_id, event_id, any(occurred_at) AS occurred_at
    FROM {db}.events
    WHERE event_type = 'supplement_received'
    GROUP BY dossier_id, event_id
)
GROUP BY dossier_id;

CREATE OR REPLACE VIEW {db}.dossier_facts AS
SELECT
    s.dossier_id                            AS dossier_id,
    toString(ifNull(s.receiving_unit, ''))  AS unit,
    ifNull(s.procedure_code, '')            AS procedure_code,
    s.procedure_known                       AS procedure_known,
    toString(ifNull(s.current_unit, ''))    AS current_unit,
    s.channel                               AS channel,
    s.status                                AS status,
    assumeNotNull(s.received_at)            AS received_at,
    s.due_at                                AS due_at,
    s.extended_due_at                       AS extended_due_at,
    s.finished_at                           AS finished_at,
    s.outcome                               AS outcome,
    toString(s.classification)              AS classification,
    s.supplements                           AS supplements,
    s.sent_to_tax_at                        AS sent_to_tax_at,
    s.tax_due_at                            AS tax_due_at,
    s.tax_notice_at                         AS tax_notice_at,
    s.paid_at                               AS paid_at,
    s.payment_channel                       AS payment_channel,
    s.result_attached_at                    AS result_attached_at,
    s.result_returned_at                    AS result_returned_at,
    s.unit_hours                            AS unit_hours,
    s.overdue_cause                         AS overdue_cause,
    s.overdue_unit                          AS overdue_unit,
    b.breach_times                          AS breach_times,
    b.breach_due_at                         AS breach_due_at,
    r.restart_times                         AS restart_times
FROM
(
    SELECT * FROM {db}.dossier_state FINAL WHERE received_at IS NOT NULL
) AS s
LEFT JOIN {db}.dossier_breaches AS b ON b.dossier_id = s.dossier_id
LEFT JOIN {db}.dossier_restarts AS r ON r.dossier_id = s.dossier_id
SETTINGS join_use_nulls = 0;

-- Per local day, receiving unit and procedure; a day appears when
-- something happened on it or a dossier of that unit and procedure was open at its
-- end; open dossiers are carried day by day up to the stream's current day.
CREATE OR REPLACE VIEW {db}.unit_daily AS
WITH (SELECT toDate(now_at) FROM {db}.stream_clock) AS last_day
SELECT
    day,
    unit,
    procedure_code,
    countIf(kind = 'received')                                   AS received,
    countIf(kind = 'finished')                                   AS finished,
    countIf(kind = 'finished' AND classification = 'early')      AS finished_early,
    countIf(kind = 'finished' AND classification = 'on_time')    AS finished_on_time,
    countIf(kind = 'finished' AND classification = 'overdue')    AS finished_overdue,
    countIf(kind = 'open')                                       AS open_at_day_end,
    countIf(kind = 'open' AND arrayExists(
        b -> b <= day_end AND NOT arrayExists(r -> r > b AND r < day_end, restart_times),
        breach_times))                                           AS open_overdue_at_day_end,
    countIf(kind = 'sla_breach')                                 AS breaches,
    countIf(kind = 'tax_overdue')                                AS tax_delays,
    countIf(kind = 'open_after_completion')                      AS open_after_completion
FROM
(
    SELECT
        unit,
        procedure_code,
        e.1 AS day,
        e.2 AS kind,
        classification,
        breach_times,
        restart_times,
        toDateTime64(e.1 + 1, 3, 'Asia/Ho_Chi_Minh') AS day_end
    FROM {db}.dossier_facts
    ARRAY JOIN arrayConcat(
        [(toDate(received_at), 'received')],
        if(finished_at IS NULL, [], [(toDate(assumeNotNull(finished_at)), 'finished')]),
        arrayMap(
            i -> (toDate(received_at) + i, 'open'),
            range(toUInt32(greatest(0, if(finished_at IS NULL,
                dateDiff('day', toDate(received_at), last_day) + 1,
                dateDiff('day', toDate(received_at), toDate(assumeNotNull(finished_at)))))))
        )
    ) AS e
    UNION ALL
    SELECT
        toString(ifNull(receiving_unit, '')) AS unit,
        ifNull(procedure_code, '')           AS procedure_code,
        toDate(fires_at)                     AS day,
        toString(kind)                       AS kind,
        ''                                   AS classification,
        []                                   AS breach_times,
        []                                   AS restart_times,
        toDateTime64(toDate(fires_at) + 1, 3, 'Asia/Ho_Chi_Minh') AS day_end
    FROM {db}.alerts FINAL
    WHERE NOT retracted AND kind IN ('sla_breach', 'tax_overdue', 'open_after_completion')
)
GROUP BY day, unit, procedure_code;

-- One row per local month and receiving unit, for every month from the
-- unit's first received dossier up to the stream's current month (zeros included).
-- A finished dossier counts in the month of finished_at (and as the previous month
-- of the next one); "open at month end" is received before and not finished by
-- local midnight of the 1st of the next month; payments count in the month of
-- paid_at. Rates are null when their denominator is zero.
--
-- Each dossier becomes one row per (month, kind) it counts in, the month computed
-- from the dossier alone, so a filter on month is applied to these rows right
-- after they are made, before they are joined to their breach and restart times
-- and counted. kind: 0 the unit's month series, 1 received, 2 finished, 3 finished
-- the month before, 4 paid, 5 open at the month end. A (unit, month) group without
-- a series row (the "month before" of a dossier finished in the stream's current
-- month) is left out.
CREATE OR REPLACE VIEW {db}.monthly_report AS
WITH (SELECT toStartOfMonth(now_at) FROM {db}.stream_clock) AS last_month
SELECT
    month,
    unit,
    received,
    finished,
    finished_early,
    finished_on_time,
    finished_overdue,
    if(finished = 0, NULL, finished_overdue / finished)                   AS overdue_rate,
    open_at_month_end,
    open_overdue_at_month_end,
    prev_finished,
    prev_finished_overdue,
    if(prev_finished = 0, NULL, prev_finished_overdue / prev_finished)    AS prev_overdue_rate,
    overdue_rate - prev_overdue_rate                                      AS overdue_rate_change,
    if(finished + open_at_month_end = 0, NULL,
        20 * (finished_early + finished_on_time + open_at_month_end - open_overdue_at_month_end)
           / (finished + open_at_month_end))                              AS timeliness_score,
    digitisable,
    digitised,
    if(digitisable = 0, NULL, digitised / digitisable)                    AS digitised_rate,
    payments,
    payments_online,
    if(payments = 0, NULL, payments_online / payments)                    AS online_payment_rate,
    overdue_tax,
    overdue_open_after_completion,
    overdue_supplement,
    overdue_unit_held
FROM
(
    SELECT
        unit,
        month,
        countIf(kind = 1)                                                 AS received,
        countIf(kind = 2)                                                 AS finished,
        countIf(kind = 2 AND classification = 'early')                    AS finished_early,
        countIf(kind = 2 AND classification = 'on_time')                  AS finished_on_time,
        countIf(kind = 2 AND classification = 'overdue')                  AS finished_overdue,
        countIf(kind = 5)                                                 AS open_at_month_end,
        countIf(kind = 5 AND arrayExists(
            b -> b <= month_end AND NOT arrayExists(r -> r > b AND r < month_end, restart_times),
            breach_times))                                                AS open_overdue_at_month_end,
        countIf(kind = 3)                                                 AS prev_finished,
        countIf(kind = 3 AND classification = 'overdue')                  AS prev_finished_overdue,
        countIf(kind = 2 AND ifNull(outcome, '') != 'rejected')           AS digitisable,
        countIf(kind = 2 AND ifNull(outcome, '') != 'rejected' AND has_result) AS digitised,
        countIf(kind = 4)                                                 AS payments,
        countIf(kind = 4 AND payment_channel = 'online')                  AS payments_online,
        countIf(kind = 2 AND classification = 'overdue'
                AND overdue_cause = 'tax')                                AS overdue_tax,
        countIf(kind = 2 AND classification = 'overdue'
                AND overdue_cause = 'open_after_completion')              AS overdue_open_after_completion,
        countIf(kind = 2 AND classification = 'overdue'
                AND overdue_cause = 'supplement')                         AS overdue_supplement,
        countIf(kind = 2 AND classification = 'overdue'
                AND overdue_cause = 'unit')                               AS overdue_unit_held
    FROM
    (
        SELECT
            unit,
            arrayJoin(arrayMap(
                i -> addMonths(first_month, i),
                range(toUInt32(greatest(0, dateDiff('month', first_month, last_month) + 1))))) AS month,
            toUInt8(0)                            AS kind,
            ''                                    AS classification,
            CAST(NULL, 'Nullable(String)')        AS outcome,
            false                                 AS has_result,
            CAST(NULL, 'Nullable(String)')        AS payment_channel,
            CAST(NULL, 'Nullable(String)')        AS overdue_cause,
            toDateTime64(0, 3, 'Asia/Ho_Chi_Minh') AS month_end,
            CAST([], 'Array(DateTime64(3, \'Asia/Ho_Chi_Minh\'))') AS breach_times,
            CAST([], 'Array(DateTime64(3, \'Asia/Ho_Chi_Minh\'))') AS restart_times
        FROM
        (
            SELECT toString(ifNull(receiving_unit, '')) AS unit,
                   min(toStartOfMonth(assumeNotNull(received_at))) AS first_month
            FROM {db}.dossier_state FINAL
            WHERE received_at IS NOT NULL
            GROUP BY unit
        )

        UNION ALL

        SELECT
            d.unit                                AS unit,
            d.month                               AS month,
            d.kind                                AS kind,
            d.classification                      AS classification,
            d.outcome                             AS outcome,
            d.has_result                          AS has_result,
            d.payment_channel                     AS payment_channel,
            d.overdue_cause                       AS overdue_cause,
            toDateTime64(addMonths(d.month, 1), 3, 'Asia/Ho_Chi_Minh') AS month_end,
            b.breach_times                        AS breach_times,
            r.restart_times                       AS restart_times
        FROM
        (
            -- the months it is open at the end of: from the one it was received in to
            -- the one before it finished, or to the stream's current month
            WITH
                toStartOfMonth(assumeNotNull(received_at)) AS received_month,
                toStartOfMonth(assumeNotNull(finished_at)) AS finished_month,
                assumeNotNull(toUInt32(greatest(0, if(finished_at IS NULL,
                    dateDiff('month', received_month, last_month) + 1,
                    dateDiff('month', received_month, finished_month))))) AS open_months
            SELECT
                dossier_id,
                toString(ifNull(receiving_unit, ''))      AS unit,
                month,
                kind,
                toString(classification)                  AS classification,
                CAST(outcome, 'Nullable(String)')         AS outcome,
                result_attached_at IS NOT NULL            AS has_result,
                CAST(payment_channel, 'Nullable(String)') AS payment_channel,
                CAST(overdue_cause, 'Nullable(String)')   AS overdue_cause
            FROM {db}.dossier_state FINAL
            ARRAY JOIN
                arrayConcat(
                    [received_month],
                    if(finished_at IS NULL, [], [finished_month, addMonths(finished_month, 1)]),
                    if(paid_at IS NULL, [], [toStartOfMonth(assumeNotNull(paid_at))]),
                    arrayMap(i -> addMonths(received_month, i), range(open_months))) AS month,
                arrayConcat(
                    [toUInt8(1)],
                    if(finished_at IS NULL, [], [toUInt8(2), toUInt8(3)]),
                    if(paid_at IS NULL, [], [toUInt8(4)]),
                    arrayWithConstant(open_months, toUInt8(5))) AS kind
            WHERE received_at IS NOT NULL
        ) AS d
        LEFT JOIN {db}.dossier_breaches AS b ON b.dossier_id = d.dossier_id
        LEFT JOIN {db}.dossier_restarts AS r ON r.dossier_id = d.dossier_id
    )
    GROUP BY unit, month
    HAVING countIf(kind = 0) > 0
)
ORDER BY month, unit
SETTINGS join_use_nulls = 0;

-- The due-date audit (issue 21, docs/ingest.md): the date the provincial system promised
-- the citizen (NgayHenTra: the latest one its sync records sent, sync_dossiers.promised_at,
-- else the received event's source_due_at) against the legal due time (dossier_state.due_at,
-- by the working-day calendar; null while paused). `promise`: 'later' when the promised date
-- is after the legal due date (on time on the portal, late by law), 'earlier', 'same', or
-- 'unknown' (no promise, or no legal due time). `portal_classification` counts as the
-- portal's statistics do (Decision 766 as built): by date, finished against NgayHenTra
-- (withdrawn on time), '' without a promise, 'open' while open.
CREATE OR REPLACE VIEW {db}.due_date_audit AS
SELECT
    dossier_id,
    unit,
    current_unit,
    procedure_code,
    received_at,
    finished_at,
    outcome,
    due_at,
    promised_at,
    classification,
    multiIf(promised_at IS NULL OR due_at IS NULL, 'unknown',
            toDate(promised_at) > toDate(due_at), 'later',
            toDate(promised_at) < toDate(due_at), 'earlier', 'same')           AS promise,
    if(promised_at IS NULL OR due_at IS NULL, NULL,
       dateDiff('day', toDate(due_at), toDate(promised_at)))                   AS promise_days,
    multiIf(promised_at IS NULL, '',
            finished_at IS NULL, 'open',
            outcome = 'withdrawn', 'on_time',
            toDate(finished_at) < toDate(promised_at), 'early',
            toDate(finished_at) = toDate(promised_at), 'on_time', 'overdue')  AS portal_classification
FROM
(
    SELECT
        s.dossier_id                                   AS dossier_id,
        toString(ifNull(s.receiving_unit, ''))         AS unit,
        toString(ifNull(s.current_unit, ''))           AS current_unit,
        ifNull(s.procedure_code, '')                   AS procedure_code,
        assumeNotNull(s.received_at)                   AS received_at,
        s.finished_at                                  AS finished_at,
        toString(ifNull(s.outcome, ''))                AS outcome,
        s.due_at                                       AS due_at,
        if(p.promised_at IS NOT NULL, p.promised_at, r.source_due_at) AS promised_at,
        toString(s.classification)                     AS classification
    FROM
    (
        SELECT * FROM {db}.dossier_state FINAL WHERE received_at IS NOT NULL
    ) AS s
    LEFT JOIN
    (
        SELECT dossier_id, argMax(promised_at, version) AS promised_at FROM {db}.sync_dossiers GROUP BY dossier_id
    ) AS p ON p.dossier_id = s.dossier_id
    LEFT JOIN
    (
        SELECT dossier_id, any(source_due_at) AS source_due_at
        FROM {db}.events
        WHERE event_type = 'received'
        GROUP BY dossier_id
    ) AS r ON r.dossier_id = s.dossier_id
    SETTINGS join_use_nulls = 1
);
