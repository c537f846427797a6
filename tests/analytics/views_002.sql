-- Kept for the equivalence test (tests/analytics/views_old.py), with one change since it
-- shipped: a breach at T itself counts at T (`b <= T`), as the breach moved from 23:59:59.999
-- of the due date to 00:00 of the next day.
-- Analytics (docs/contract.md §3): dossier_facts, unit_daily, monthly_report.
--
-- All three are plain VIEWs over dossier_state FINAL, alerts FINAL, events FINAL
-- and stream_progress FINAL. They hold no rows of their own, so they are exact
-- under replays, restarts and late events by construction: whatever the stream
-- has written, deduplicated, is what they count. Nothing here is written by the
-- worker and nothing can drift from the core tables.
--
-- "Overdue at an instant T" (the end of a day or of a month) for a dossier still
-- open at T: a standing (not retracted) sla_breach alert fired before T, and no
-- supplement_received after that breach and before T (the supplement restarts the
-- time limit from zero, so the dossier is back within a fresh limit). The breach
-- fires at the end of the local due date, so this is docs/domain.md's "a dossier still
-- open whose due date is before the end of the period is in process, overdue",
-- with the due date the dossier had at that time (due_at in dossier_state is only
-- the latest one, and is null while paused). It is also exactly how the stream
-- sets dossier_state.classification = 'open_overdue' for the current state.
--
-- Every time is DateTime64(3, 'Asia/Ho_Chi_Minh'): toDate/toStartOfMonth give the
-- local calendar day and month; a period end is local midnight of the next day.
-- No statement may contain a semicolon except as its terminator (see migrate()).

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
LEFT JOIN
(
    SELECT
        dossier_id,
        arraySort(groupArray(fires_at))                               AS breach_times,
        arrayMap(x -> x.2, arraySort(groupArray((fires_at, due_at)))) AS breach_due_at
    FROM {db}.alerts FINAL
    WHERE kind = 'sla_breach' AND NOT retracted
    GROUP BY dossier_id
) AS b ON b.dossier_id = s.dossier_id
LEFT JOIN
(
    SELECT dossier_id, arraySort(groupArray(occurred_at)) AS restart_times
    FROM {db}.events FINAL
    WHERE event_type = 'supplement_received'
    GROUP BY dossier_id
) AS r ON r.dossier_id = s.dossier_id
SETTINGS join_use_nulls = 0;

-- Per local day, receiving unit and procedure. A day appears when something
-- happened on it or a dossier of that unit and procedure was open at its end.
-- Open dossiers are carried day by day up to the stream's current day (the
-- latest of the stream watermark and every time in dossier_state).
CREATE OR REPLACE VIEW {db}.unit_daily AS
WITH
    (
        SELECT toDate(max(t))
        FROM
        (
            SELECT max(received_at) AS t FROM {db}.dossier_state FINAL
            UNION ALL SELECT max(finished_at) FROM {db}.dossier_state FINAL
            UNION ALL SELECT max(paid_at) FROM {db}.dossier_state FINAL
            UNION ALL SELECT CAST(max(watermark), 'Nullable(DateTime64(3, \'Asia/Ho_Chi_Minh\'))')
                FROM {db}.stream_progress FINAL
        )
    ) AS last_day
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

-- One row per local month and receiving unit, for every month from the unit's
-- first received dossier up to the stream's current month (zeros included).
-- A finished dossier counts in the month of finished_at; "open at month end" is
-- received before and not finished by local midnight of the 1st of the next
-- month; payments count in the month of paid_at. Rates are null when their
-- denominator is zero.
CREATE OR REPLACE VIEW {db}.monthly_report AS
WITH
    (
        SELECT toStartOfMonth(max(t))
        FROM
        (
            SELECT max(received_at) AS t FROM {db}.dossier_state FINAL
            UNION ALL SELECT max(finished_at) FROM {db}.dossier_state FINAL
            UNION ALL SELECT max(paid_at) FROM {db}.dossier_state FINAL
            UNION ALL SELECT CAST(max(watermark), 'Nullable(DateTime64(3, \'Asia/Ho_Chi_Minh\'))')
                FROM {db}.stream_progress FINAL
        )
    ) AS last_month
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
    SELECT unit, arrayJoin(arrayMap(
        i -> addMonths(first_month, i),
        range(toUInt32(greatest(0, dateDiff('month', first_month, last_month) + 1))))) AS month
    FROM
    (
        SELECT unit, min(toStartOfMonth(received_at)) AS first_month
        FROM {db}.dossier_facts
        GROUP BY unit
    )
) AS series
LEFT JOIN
(
    SELECT
        unit,
        month,
        countIf(kind = 'received')                                        AS received,
        countIf(kind = 'finished')                                        AS finished,
        countIf(kind = 'finished' AND classification = 'early')           AS finished_early,
        countIf(kind = 'finished' AND classification = 'on_time')         AS finished_on_time,
        countIf(kind = 'finished' AND classification = 'overdue')         AS finished_overdue,
        countIf(kind = 'open')                                            AS open_at_month_end,
        countIf(kind = 'open' AND arrayExists(
            b -> b <= month_end AND NOT arrayExists(r -> r > b AND r < month_end, restart_times),
            breach_times))                                                    AS open_overdue_at_month_end,
        countIf(kind = 'prev')                                            AS prev_finished,
        countIf(kind = 'prev' AND classification = 'overdue')             AS prev_finished_overdue,
        countIf(kind = 'finished' AND ifNull(outcome, '') != 'rejected')  AS digitisable,
        countIf(kind = 'finished' AND ifNull(outcome, '') != 'rejected'
                AND result_attached_at IS NOT NULL)                       AS digitised,
        countIf(kind = 'payment')                                         AS payments,
        countIf(kind = 'payment' AND payment_channel = 'online')          AS payments_online,
        countIf(kind = 'finished' AND classification = 'overdue'
                AND overdue_cause = 'tax')                                AS overdue_tax,
        countIf(kind = 'finished' AND classification = 'overdue'
                AND overdue_cause = 'open_after_completion')              AS overdue_open_after_completion,
        countIf(kind = 'finished' AND classification = 'overdue'
                AND overdue_cause = 'supplement')                         AS overdue_supplement,
        countIf(kind = 'finished' AND classification = 'overdue'
                AND overdue_cause = 'unit')                               AS overdue_unit_held
    FROM
    (
        SELECT
            unit,
            e.1 AS month,
            e.2 AS kind,
            toDateTime64(addMonths(e.1, 1), 3, 'Asia/Ho_Chi_Minh') AS month_end,
            classification,
            outcome,
            result_attached_at,
            payment_channel,
            overdue_cause,
            breach_times,
            restart_times
        FROM {db}.dossier_facts
        ARRAY JOIN arrayConcat(
            [(toStartOfMonth(received_at), 'received')],
            if(finished_at IS NULL, [], [
                (toStartOfMonth(assumeNotNull(finished_at)), 'finished'),
                (addMonths(toStartOfMonth(assumeNotNull(finished_at)), 1), 'prev')]),
            if(paid_at IS NULL, [], [(toStartOfMonth(assumeNotNull(paid_at)), 'payment')]),
            arrayMap(
                i -> (addMonths(toStartOfMonth(received_at), i), 'open'),
                range(toUInt32(greatest(0, if(finished_at IS NULL,
                    dateDiff('month', toStartOfMonth(received_at), last_month) + 1,
                    dateDiff('month', toStartOfMonth(received_at), toStartOfMonth(assumeNotNull(finished_at))))))))
        ) AS e
    )
    GROUP BY unit, month
) AS m USING (unit, month)
ORDER BY month, unit
SETTINGS join_use_nulls = 0;
