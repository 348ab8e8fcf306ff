-- description: Duration of succeeded executions per pipeline, in seconds: p50, p90, p95, max and average.
WITH events AS (
    SELECT DISTINCT eventid, pipeline, executionid, state,
           from_iso8601_timestamp("timestamp") AS ts,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
),
executions AS (
    SELECT pipeline, executionid,
           coalesce(min(ts) FILTER (WHERE state = 'STARTED'), min(start_time)) AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid
),
done AS (
    SELECT pipeline, date_diff('second', started_at, ended_at) AS duration_s
    FROM executions
    WHERE outcome = 'SUCCEEDED' AND started_at IS NOT NULL
)
SELECT pipeline,
       count(*) AS executions,
       approx_percentile(duration_s, 0.5) AS p50_s,
       approx_percentile(duration_s, 0.9) AS p90_s,
       approx_percentile(duration_s, 0.95) AS p95_s,
       max(duration_s) AS max_s,
       round(avg(duration_s), 1) AS avg_s
FROM done
GROUP BY pipeline
ORDER BY p95_s DESC, pipeline
