-- description: Every execution with events in the window, one row each: pipeline ARN, start, outcome (or latest state), and the distinct events each table holds for it; what `cplogs coverage` compares with CodePipeline's own list.
-- Duplicate deliveries go first (DISTINCT per table), so the counts are plain counts:
-- several DISTINCT aggregates per group cost an engine a set per group each.
WITH pipeline_events AS (
    SELECT DISTINCT coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid, state,
           from_iso8601_timestamp("timestamp") AS ts,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
),
stage_events AS (
    SELECT DISTINCT coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM stage_execution_state_change
    WHERE {{in_window}}
),
action_events AS (
    SELECT DISTINCT coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM action_execution_state_change
    WHERE {{in_window}}
),
p AS (
    SELECT pipelinearn, pipeline, executionid,
           count(*) AS events,
           min(ts) FILTER (WHERE state = 'STARTED') AS started_at,
           min(start_time) AS start_time,
           max_by(state, ts) FILTER (WHERE state IN {{terminal_states}}) AS outcome,
           max_by(state, ts) AS last_state
    FROM pipeline_events
    GROUP BY pipelinearn, pipeline, executionid
),
s AS (
    SELECT pipelinearn, pipeline, executionid, count(*) AS events, min(start_time) AS start_time
    FROM stage_events
    GROUP BY pipelinearn, pipeline, executionid
),
a AS (
    SELECT pipelinearn, pipeline, executionid, count(*) AS events, min(start_time) AS start_time
    FROM action_events
    GROUP BY pipelinearn, pipeline, executionid
),
ids AS (
    SELECT pipelinearn, pipeline, executionid FROM p
    UNION
    SELECT pipelinearn, pipeline, executionid FROM s
    UNION
    SELECT pipelinearn, pipeline, executionid FROM a
),
executions AS (
    SELECT ids.pipelinearn, ids.pipeline, ids.executionid,
           coalesce(p.started_at, p.start_time, s.start_time, a.start_time) AS started_at,
           coalesce(p.outcome, p.last_state) AS state,
           coalesce(p.events, 0) AS pipeline_events,
           coalesce(s.events, 0) AS stage_events,
           coalesce(a.events, 0) AS action_events
    FROM ids
    LEFT JOIN p ON p.pipelinearn = ids.pipelinearn AND p.executionid = ids.executionid
        AND p.pipeline = ids.pipeline
    LEFT JOIN s ON s.pipelinearn = ids.pipelinearn AND s.executionid = ids.executionid
        AND s.pipeline = ids.pipeline
    LEFT JOIN a ON a.pipelinearn = ids.pipelinearn AND a.executionid = ids.executionid
        AND a.pipeline = ids.pipeline
)
SELECT pipelinearn AS pipeline_arn,
       pipeline,
       executionid AS execution_id,
       to_iso8601(started_at) AS started,
       state,
       pipeline_events,
       stage_events,
       action_events
FROM executions
ORDER BY pipeline, started_at, executionid
