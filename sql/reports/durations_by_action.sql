-- description: Duration of succeeded action attempts per pipeline, stage and action, in seconds (STARTED to the attempt's terminal event).
WITH events AS (
    SELECT DISTINCT eventid, pipeline, executionid, stage, action, actionexecutionid, state,
           from_iso8601_timestamp("timestamp") AS ts
    FROM action_execution_state_change
    WHERE {{in_window}}
),
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid, stage, action, actionexecutionid
),
done AS (
    SELECT pipeline, stage, action, date_diff('second', started_at, ended_at) AS duration_s
    FROM attempts
    WHERE outcome = 'SUCCEEDED' AND started_at IS NOT NULL
)
SELECT pipeline, stage, action,
       count(*) AS attempts,
       {{duration_stats}}
FROM done
GROUP BY pipeline, stage, action
ORDER BY p95_s DESC, pipeline, stage, action
