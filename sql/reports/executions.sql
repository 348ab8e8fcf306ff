-- description: The 50 latest executions in the window: outcome (or latest state while running), trigger, commit, start, end and duration in seconds.
WITH events AS (
    {{pipeline_events}}
),
executions AS (
    SELECT pipeline, executionid,
           coalesce(min(ts) FILTER (WHERE state = 'STARTED'), min(start_time)) AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{terminal_states}}) AS ended_at,
           max_by(state, ts) AS last_state,
           max(trigger_type) AS trigger_type,
           max(commit_id) AS commit_id
    FROM events
    GROUP BY pipeline, executionid
)
SELECT pipeline,
       executionid AS execution_id,
       coalesce(outcome, last_state) AS state,
       trigger_type,
       commit_id,
       to_iso8601(started_at) AS started,
       to_iso8601(ended_at) AS ended,
       date_diff('second', started_at, ended_at) AS duration_s
FROM executions
ORDER BY coalesce(started_at, ended_at) DESC, pipeline, executionid
LIMIT 50
