-- description: Duration of succeeded action attempts per pipeline, stage and action, in seconds (STARTED to the attempt's terminal event).
WITH events AS (
    {{action_events}}
),
{{action_attempts}},
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
