-- description: DORA metrics per pipeline: deployments (succeeded executions) and deployments per day, change failure rate (FAILED / SUCCEEDED+FAILED), mean time to restore (from the FAILED execution that starts a failure streak to the next SUCCEEDED one, seconds) and median lead time (STARTED to SUCCEEDED, seconds).
WITH {{execution_outcomes}},
ended AS (
    SELECT pipeline, executionid, outcome, started_at, ended_at,
           lag(outcome) OVER (PARTITION BY pipeline ORDER BY ended_at, executionid) AS previous_outcome,
           min(CASE WHEN outcome = 'SUCCEEDED' THEN ended_at END) OVER (
               PARTITION BY pipeline ORDER BY ended_at, executionid
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_success_at
    FROM executions
    WHERE outcome IN ('SUCCEEDED', 'FAILED')
)
SELECT pipeline,
       count_if(outcome = 'SUCCEEDED') AS deployments,
       round(CAST(count_if(outcome = 'SUCCEEDED') AS double) * 86400
             / date_diff('second', {{since}}, {{until}}), 3) AS deployments_per_day,
       round(CAST(count_if(outcome = 'FAILED') AS double) / count(*), 4) AS change_failure_rate,
       round(avg(date_diff('second', ended_at, next_success_at)) FILTER (
             WHERE outcome = 'FAILED' AND coalesce(previous_outcome, '') <> 'FAILED'), 1) AS mttr_s,
       approx_percentile(date_diff('second', started_at, ended_at), 0.5) FILTER (
             WHERE outcome = 'SUCCEEDED') AS lead_time_p50_s
FROM ended
GROUP BY pipeline
ORDER BY pipeline
