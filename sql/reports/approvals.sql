-- description: Manual approvals (Approval category actions) per pipeline, stage and action: how many ended, approved and rejected, and the wait in seconds (p50, p90, max).
WITH events AS (
    SELECT DISTINCT eventid, pipeline, executionid, stage, action, actionexecutionid, state,
           from_iso8601_timestamp("timestamp") AS ts
    FROM action_execution_state_change
    WHERE {{in_window}}
      AND "type".category = 'Approval'
),
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid, stage, action, actionexecutionid
),
waits AS (
    SELECT pipeline, stage, action, outcome, date_diff('second', started_at, ended_at) AS wait_s
    FROM attempts
    WHERE outcome IS NOT NULL
)
SELECT pipeline, stage, action,
       count(*) AS approvals,
       count_if(outcome = 'SUCCEEDED') AS approved,
       count_if(outcome = 'FAILED') AS rejected,
       approx_percentile(wait_s, 0.5) AS wait_p50_s,
       approx_percentile(wait_s, 0.9) AS wait_p90_s,
       max(wait_s) AS wait_max_s
FROM waits
GROUP BY pipeline, stage, action
ORDER BY wait_p90_s DESC, pipeline, stage, action
