-- name: stuck
-- description: Executions with a STARTED event before the cut-off (now minus --older-than) and no terminal event in the window; age in seconds.
-- bind: since_dt until_dt since until pipelines pipelines now stuck_before
WITH events AS (
    SELECT DISTINCT eventid, pipeline, executionid, state,
           from_iso8601_timestamp("timestamp") AS ts
    FROM pipeline_execution_state_change
    WHERE dt BETWEEN ? AND ?
      AND from_iso8601_timestamp("timestamp") >= from_iso8601_timestamp(?)
      AND from_iso8601_timestamp("timestamp") < from_iso8601_timestamp(?)
      AND (? = '' OR strpos(?, ',' || pipeline || ',') > 0)
),
executions AS (
    SELECT pipeline, executionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           count_if(state IN ('SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED')) AS terminal_events,
           max_by(state, ts) AS last_state,
           max(ts) AS last_event_at
    FROM events
    GROUP BY pipeline, executionid
)
SELECT pipeline,
       executionid AS execution_id,
       to_iso8601(started_at) AS started,
       last_state,
       to_iso8601(last_event_at) AS last_event,
       date_diff('second', started_at, from_iso8601_timestamp(?)) AS age_s
FROM executions
WHERE started_at IS NOT NULL
  AND terminal_events = 0
  AND started_at < from_iso8601_timestamp(?)
ORDER BY started_at, pipeline, executionid
