-- description: Duration of succeeded executions per pipeline, in seconds: p50, p90, p95, max and average.
WITH {{execution_outcomes}},
done AS (
    SELECT pipeline, date_diff('second', started_at, ended_at) AS duration_s
    FROM executions
    WHERE outcome = 'SUCCEEDED' AND started_at IS NOT NULL
)
SELECT pipeline,
       count(*) AS executions,
       {{duration_stats}}
FROM done
GROUP BY pipeline
ORDER BY p95_s DESC, pipeline
