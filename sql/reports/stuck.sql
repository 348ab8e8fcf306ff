-- description: Executions with a STARTED event before the cut-off (now minus --older-than) and no terminal event since; the window reaches back --lookback (default 30d) or to --since if earlier, and ends now; age in seconds.
WITH events AS (
    {{pipeline_events}}
),
executions AS (
    SELECT pipeline, executionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           count_if(state IN {{terminal_states}}) AS terminal_events,
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
       date_diff('second', started_at, {{now}}) AS age_s
FROM executions
WHERE started_at IS NOT NULL
  AND terminal_events = 0
  AND started_at < {{stuck_before}}
ORDER BY started_at, pipeline, executionid
