-- The pieces every report statement shares, written once. `cplogs` splices a fragment
-- in wherever a statement says `{{fragment_name}}`, when it loads the SQL; `cplogs
-- report NAME --print-sql` prints the statements whole, as they are sent.
--
-- Markers that are not fragments take values when the report runs: {{since_dt}} and
-- {{until_dt}} (the window's first and last dt, 'YYYY-MM-DD'), {{since}}, {{until}},
-- {{now}} and {{stuck_before}} (timestamps rendered from parsed times), and
-- {{pipelines}} and {{execution_id}} (a `?` bound to what the user typed).

-- fragment: in_window
-- The window on a table read: partition pruning on dt, the event time within
-- [since, until), and the --pipeline names (',a,b,', or '' for all pipelines).
dt BETWEEN {{since_dt}} AND {{until_dt}}
      AND from_iso8601_timestamp("timestamp") >= {{since}}
      AND from_iso8601_timestamp("timestamp") < {{until}}
      AND ({{pipelines}} = '' OR strpos({{pipelines}}, ',' || pipeline || ',') > 0)

-- fragment: terminal_states
-- The states that end a pipeline execution.
('SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED')

-- fragment: attempt_terminal_states
-- The states that end a stage run or an action attempt.
('SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'ABANDONED')

-- fragment: pipeline_events
-- A pipeline's execution events in the window: the body of an `events` CTE
-- (`events AS ({{pipeline_events}})`). Duplicate deliveries are kept: every aggregate
-- over these rows must be one a repeated row cannot change (min, max, max_by,
-- min_by, whether a count is zero); a report that counts events counts
-- `DISTINCT eventid`. Removing duplicates first would hold every row of the window
-- in one hash table.
SELECT eventid, pipeline, executionid, state,
           from_iso8601_timestamp("timestamp") AS ts,
           try(from_iso8601_timestamp(starttime)) AS start_time,
           executiontrigger.triggertype AS trigger_type,
           executiontrigger.commitid AS commit_id
    FROM pipeline_execution_state_change
    WHERE {{in_window}}

-- fragment: action_events
-- Action events in the window: the body of an `events` CTE
-- (`events AS ({{action_events}})`). Duplicate deliveries are kept, as in
-- pipeline_events (and for the same reason): only aggregates a repeated row cannot
-- change, or `DISTINCT eventid`.
SELECT eventid, pipeline, executionid, stage, action, actionexecutionid, state,
           from_iso8601_timestamp("timestamp") AS ts,
           executionresult.errorcode AS error_code,
           executionresult.externalexecutionurl AS external_url,
           "type".category AS category
    FROM action_execution_state_change
    WHERE {{in_window}}

-- fragment: action_attempts
-- The CTE `attempts` over `events` of actions: one row per action attempt with its
-- STARTED time, its outcome (latest terminal state) and the time of that state.
attempts AS (
    SELECT pipeline, executionid, stage, action, actionexecutionid,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{attempt_terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid, stage, action, actionexecutionid
)

-- fragment: execution_outcomes
-- Two CTEs: `events`, a pipeline's execution events in the window (duplicate
-- deliveries removed), and `executions`, one row per execution with its start (the
-- STARTED event, else the startTime its events carry), its outcome (the latest
-- terminal state) and its end (the time of that state). Follows WITH.
events AS (
    {{pipeline_events}}
),
executions AS (
    SELECT pipeline, executionid,
           coalesce(min(ts) FILTER (WHERE state = 'STARTED'), min(start_time)) AS started_at,
           max_by(state, ts) FILTER (WHERE state IN {{terminal_states}}) AS outcome,
           max(ts) FILTER (WHERE state IN {{terminal_states}}) AS ended_at
    FROM events
    GROUP BY pipeline, executionid
)

-- fragment: duration_stats
-- The statistics of a `duration_s` column, in seconds.
approx_percentile(duration_s, 0.5) AS p50_s,
       approx_percentile(duration_s, 0.9) AS p90_s,
       approx_percentile(duration_s, 0.95) AS p95_s,
       max(duration_s) AS max_s,
       round(avg(duration_s), 1) AS avg_s
