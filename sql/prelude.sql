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
