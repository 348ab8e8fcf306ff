-- description: Failure rate per pipeline: executions that ended in the window, how many FAILED, and the rate.
WITH events AS (
    {{pipeline_events}}
),
executions AS (
    SELECT pipeline, executionid,
           max_by(state, ts) FILTER (WHERE state IN {{terminal_states}}) AS outcome
    FROM events
    GROUP BY pipeline, executionid
)
SELECT pipeline,
       count(*) AS executions,
       count_if(outcome = 'FAILED') AS failed,
       round(CAST(count_if(outcome = 'FAILED') AS double) / count(*), 4) AS failure_rate
FROM executions
WHERE outcome IS NOT NULL
GROUP BY pipeline
ORDER BY failure_rate DESC, failed DESC, pipeline
