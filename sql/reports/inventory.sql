-- description: Every execution with events in the window, one row each: pipeline ARN, start, outcome (or latest state), and the distinct events each table holds for it; what `cplogs coverage` compares with CodePipeline's own list.
-- Duplicate deliveries go first (DISTINCT per table), so the counts are plain counts:
-- several DISTINCT aggregates per group cost an engine a set per group each. `dt` is
-- in each DISTINCT: a duplicate has its event's time, so its day, and an engine that
-- reads the days in order (the local one) then holds one day's events at a time.
WITH pipeline_events AS (
    SELECT DISTINCT dt, coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid, state,
           from_iso8601_timestamp("timestamp") AS ts,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
),
stage_events AS (
    SELECT DISTINCT dt, coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid,
           try(from_iso8601_timestamp(starttime)) AS start_time
    FROM stage_execution_state_change
    WHERE {{in_window}}
),
action_events AS (
    SELECT DISTINCT dt, coalesce(pipelinearn, '') AS pipelinearn, pipeline, executionid, eventid,
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
-- p, s and a are each read once: an engine that inlines a CTE named twice would
-- scan and deduplicate its table twice.
executions AS (
    SELECT coalesce(p.pipelinearn, s.pipelinearn, a.pipelinearn) AS pipelinearn,
           coalesce(p.pipeline, s.pipeline, a.pipeline) AS pipeline,
           coalesce(p.executionid, s.executionid, a.executionid) AS executionid,
           coalesce(p.started_at, p.start_time, s.start_time, a.start_time) AS started_at,
           coalesce(p.outcome, p.last_state) AS state,
           coalesce(p.events, 0) AS pipeline_events,
           coalesce(s.events, 0) AS stage_events,
           coalesce(a.events, 0) AS action_events
    FROM p
    FULL JOIN s ON s.pipelinearn = p.pipelinearn AND s.executionid = p.executionid
        AND s.pipeline = p.pipeline
    FULL JOIN a ON a.pipelinearn = coalesce(p.pipelinearn, s.pipelinearn)
        AND a.executionid = coalesce(p.executionid, s.executionid)
        AND a.pipeline = coalesce(p.pipeline, s.pipeline)
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
