-- description: The 20 actions with the most failed attempts in the window: error codes, last failure and its external URL.
WITH events AS (
    {{action_events}}
)
SELECT pipeline, stage, action,
       count(DISTINCT eventid) AS failures,
       array_join(array_sort(array_agg(DISTINCT error_code) FILTER (WHERE error_code IS NOT NULL)), ', ') AS error_codes,
       to_iso8601(max(ts)) AS last_failure,
       max_by(external_url, ts) AS last_failure_url
FROM events
WHERE state = 'FAILED'
GROUP BY pipeline, stage, action
ORDER BY failures DESC, last_failure DESC, pipeline, stage, action
LIMIT 20
