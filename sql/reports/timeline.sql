-- name: timeline
-- description: Action timeline of one execution (the given execution id, else the latest started execution in the window): each action attempt with start, end, duration in seconds and state.
-- bind: since_dt until_dt since until pipelines pipelines execution_id execution_id since_dt until_dt since until
WITH runs AS (
    SELECT pipeline, executionid, state, from_iso8601_timestamp("timestamp") AS ts
    FROM pipeline_execution_state_change
    WHERE dt BETWEEN ? AND ?
      AND from_iso8601_timestamp("timestamp") >= from_iso8601_timestamp(?)
      AND from_iso8601_timestamp("timestamp") < from_iso8601_timestamp(?)
      AND (? = '' OR strpos(?, ',' || pipeline || ',') > 0)
      AND (? = '' OR executionid = ?)
),
target AS (
    SELECT coalesce(max_by(executionid, ts) FILTER (WHERE state = 'STARTED'), max_by(executionid, ts)) AS executionid
    FROM runs
),
events AS (
    SELECT DISTINCT a.eventid, a.pipeline, a.executionid, a.stage, a.action, a.actionexecutionid, a.state,
           from_iso8601_timestamp(a."timestamp") AS ts
    FROM action_execution_state_change a
    JOIN target t ON a.executionid = t.executionid
    WHERE a.dt BETWEEN ? AND ?
      AND from_iso8601_timestamp(a."timestamp") >= from_iso8601_timestamp(?)
      AND from_iso8601_timestamp(a."timestamp") < from_iso8601_timestamp(?)
),
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max(ts) FILTER (WHERE state IN ('SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'ABANDONED')) AS ended_at,
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
