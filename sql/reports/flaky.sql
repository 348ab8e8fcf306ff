-- description: Actions that failed and then succeeded within the same execution, ranked by how often; time lost is from the first failed attempt's start to the succeeding attempt's start, in seconds.
WITH events AS (
    {{action_events}}
),
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           coalesce(min(ts) FILTER (WHERE state = 'STARTED'), min(ts)) AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS outcome
    FROM events
    GROUP BY pipeline, executionid, stage, action, actionexecutionid
),
per_execution AS (
    SELECT pipeline, executionid, stage, action,
           min(started_at) FILTER (WHERE outcome = 'FAILED') AS first_failed_at,
           max(started_at) FILTER (WHERE outcome = 'SUCCEEDED') AS succeeded_at,
           count_if(outcome = 'FAILED') AS failed_attempts
    FROM attempts
    GROUP BY pipeline, executionid, stage, action
)
SELECT pipeline, stage, action,
       count(*) AS flaky_executions,
       sum(failed_attempts) AS failed_attempts,
       sum(date_diff('second', first_failed_at, succeeded_at)) AS time_lost_s,
       to_iso8601(max(succeeded_at)) AS last_seen
FROM per_execution
WHERE first_failed_at IS NOT NULL AND succeeded_at > first_failed_at
GROUP BY pipeline, stage, action
ORDER BY flaky_executions DESC, time_lost_s DESC, pipeline, stage, action
