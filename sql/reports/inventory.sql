-- description: Every execution with events in the window, one row each: pipeline ARN, start, outcome (or latest state), and the distinct events each table holds for it; what `cplogs coverage` compares with CodePipeline's own list.
WITH events AS (
    SELECT pipelinearn, pipeline, executionid, eventid, 'pipeline' AS source, state,
           from_iso8601_timestamp("timestamp") AS ts, starttime
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
    UNION ALL
    SELECT pipelinearn, pipeline, executionid, eventid, 'stage' AS source, state,
           from_iso8601_timestamp("timestamp") AS ts, starttime
    FROM stage_execution_state_change
    WHERE {{in_window}}
    UNION ALL
    SELECT pipelinearn, pipeline, executionid, eventid, 'action' AS source, state,
           from_iso8601_timestamp("timestamp") AS ts, starttime
    FROM action_execution_state_change
    WHERE {{in_window}}
),
executions AS (
    SELECT pipelinearn, pipeline, executionid,
           coalesce(min(ts) FILTER (WHERE source = 'pipeline' AND state = 'STARTED'),
                    min(try(from_iso8601_timestamp(starttime)))) AS started_at,
           max_by(state, ts) FILTER (WHERE source = 'pipeline' AND state IN {{terminal_states}}) AS outcome,
           max_by(state, ts) FILTER (WHERE source = 'pipeline') AS last_state,
           count(DISTINCT CASE WHEN source = 'pipeline' THEN eventid END) AS pipeline_events,
           count(DISTINCT CASE WHEN source = 'stage' THEN eventid END) AS stage_events,
           count(DISTINCT CASE WHEN source = 'action' THEN eventid END) AS action_events
    FROM events
    GROUP BY pipelinearn, pipeline, executionid
)
SELECT pipelinearn AS pipeline_arn,
       pipeline,
       executionid AS execution_id,
       to_iso8601(started_at) AS started,
       coalesce(outcome, last_state) AS state,
       pipeline_events,
       stage_events,
       action_events
FROM executions
ORDER BY pipeline, started_at, executionid
