-- description: Duration of succeeded stage runs per pipeline and stage, in seconds (first STARTED to the last terminal event of the stage in an execution, retries included).
WITH events AS (
    -- Duplicate deliveries kept: runs use only min, max and max_by (sql/README.md).
    SELECT eventid, pipeline, executionid, stage, state,
           from_iso8601_timestamp("timestamp") AS ts
    FROM stage_execution_state_change
    WHERE {{in_window}}
),
runs AS (
    SELECT pipeline, executionid, stage,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid, stage
),
done AS (
    SELECT pipeline, stage, date_diff('second', started_at, ended_at) AS duration_s
    FROM runs
    WHERE outcome = 'SUCCEEDED' AND started_at IS NOT NULL
)
SELECT pipeline, stage,
       count(*) AS runs,
       {{duration_stats}}
FROM done
GROUP BY pipeline, stage
ORDER BY p95_s DESC, pipeline, stage
