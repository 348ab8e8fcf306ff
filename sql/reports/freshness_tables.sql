-- description: Per table, the events in the window (each event once, however often delivered) and the newest event time.
SELECT table_name, events, newest_event
FROM (
    SELECT 'pipeline_execution_state_change' AS table_name, count(DISTINCT eventid) AS events,
           to_iso8601(max(from_iso8601_timestamp("timestamp"))) AS newest_event
    FROM pipeline_execution_state_change
    WHERE {{in_window}}
    UNION ALL
    SELECT 'stage_execution_state_change' AS table_name, count(DISTINCT eventid) AS events,
           to_iso8601(max(from_iso8601_timestamp("timestamp"))) AS newest_event
    FROM stage_execution_state_change
    WHERE {{in_window}}
    UNION ALL
    SELECT 'action_execution_state_change' AS table_name, count(DISTINCT eventid) AS events,
           to_iso8601(max(from_iso8601_timestamp("timestamp"))) AS newest_event
    FROM action_execution_state_change
    WHERE {{in_window}}
) AS t
ORDER BY table_name
