-- description: Per pipeline, the executions started in the window, the last start, the median gap between consecutive starts and how long the pipeline has been silent (now minus its last start), in seconds.
WITH starts AS (
    SELECT DISTINCT eventid, pipeline, executionid,
           from_iso8601_timestamp("timestamp") AS ts
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
      AND state = 'STARTED'
),
gaps AS (
    SELECT pipeline, ts,
           date_diff('second', lag(ts) OVER (PARTITION BY pipeline ORDER BY ts, executionid), ts) AS gap_s
    FROM starts
)
SELECT pipeline,
       count(*) AS starts,
       to_iso8601(max(ts)) AS last_start,
       approx_percentile(gap_s, 0.5) AS median_gap_s,
       date_diff('second', max(ts), {{now}}) AS silent_s
FROM gaps
GROUP BY pipeline
ORDER BY pipeline
