-- description: Daily series per pipeline, by the UTC day an execution ended: executions with an outcome, how many FAILED, the failure rate, and p50/p90 duration of the succeeded ones in seconds.
WITH {{execution_outcomes}},
ended AS (
    SELECT pipeline,
           substr(to_iso8601(ended_at), 1, 10) AS day,
           outcome,
           CASE WHEN outcome = 'SUCCEEDED' THEN date_diff('second', started_at, ended_at) END AS duration_s
    FROM executions
    WHERE outcome IS NOT NULL
)
SELECT pipeline,
       day,
       count(*) AS executions,
       count_if(outcome = 'FAILED') AS failed,
       round(CAST(count_if(outcome = 'FAILED') AS double) / count(*), 4) AS failure_rate,
       approx_percentile(duration_s, 0.5) AS p50_s,
       approx_percentile(duration_s, 0.9) AS p90_s
FROM ended
GROUP BY pipeline, day
ORDER BY pipeline, day
