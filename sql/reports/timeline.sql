-- description: Action timeline of one execution (the given execution id, else the latest started execution in the window): each action attempt with start, end, duration in seconds and state.
WITH runs AS (
    SELECT pipeline, executionid, state, from_iso8601_timestamp("timestamp") AS ts
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
      AND ({{execution_id}} = '' OR executionid = {{execution_id}})
),
target AS (
    -- The latest STARTED execution (else the one with the latest event); executions
    -- started at the same millisecond: the greatest execution id.
    SELECT executionid
    FROM runs
    ORDER BY CASE WHEN state = 'STARTED' THEN 0 ELSE 1 END, ts DESC, executionid DESC
    LIMIT 1
),
events AS (
    SELECT DISTINCT a.eventid, a.pipeline, a.executionid, a.stage, a.action, a.actionexecutionid, a.state,
           from_iso8601_timestamp(a."timestamp") AS ts
    FROM action_execution_state_change a
    JOIN target t ON a.executionid = t.executionid
    WHERE a.dt BETWEEN {{since_dt}} AND {{until_dt}}
      AND from_iso8601_timestamp(a."timestamp") >= {{since}}
      AND from_iso8601_timestamp(a."timestamp") < {{until}}
),
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max(ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS ended_at,
           max_by(state, ts) AS state
    FROM events
    GROUP BY pipeline, executionid, stage, action, actionexecutionid
)
SELECT pipeline,
       executionid AS execution_id,
       stage,
       action,
       row_number() OVER (PARTITION BY stage, action ORDER BY coalesce(started_at, ended_at), actionexecutionid) AS attempt,
       to_iso8601(started_at) AS "start",
       to_iso8601(ended_at) AS "end",
       date_diff('second', started_at, ended_at) AS duration_s,
       state
FROM attempts
ORDER BY coalesce(started_at, ended_at), stage, action, attempt
