-- description: Manual approvals (Approval category actions) per pipeline, stage and action: how many ended, approved and rejected, and the wait in seconds (p50, p90, max).
WITH events AS (
    SELECT * FROM ({{action_events}}) AS a
    WHERE category = 'Approval'
),
{{action_attempts}},
waits AS (
    SELECT pipeline, stage, action, outcome, date_diff('second', started_at, ended_at) AS wait_s
    FROM attempts
    WHERE outcome IS NOT NULL
)
SELECT pipeline, stage, action,
       count(*) AS approvals,
       count_if(outcome = 'SUCCEEDED') AS approved,
       count_if(outcome = 'FAILED') AS rejected,
       approx_percentile(wait_s, 0.5) AS wait_p50_s,
       approx_percentile(wait_s, 0.9) AS wait_p90_s,
       max(wait_s) AS wait_max_s
FROM waits
GROUP BY pipeline, stage, action
ORDER BY wait_p90_s DESC, pipeline, stage, action
