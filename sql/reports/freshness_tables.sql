-- description: Per table, the events in the window (each event once, however often delivered) and the newest event time.
-- Events are counted as groups of (dt, event id), not with count(DISTINCT eventid): one
-- set of every id in the window is what an engine cannot split, spill or share out.
-- A duplicate delivery has its event's time, so its dt: grouping by day first counts
-- it once all the same, and lets an engine that reads the days in order (the local
-- one) hold one day's ids at a time instead of the window's.
SELECT table_name, events, newest_event
FROM (
    SELECT 'pipeline_execution_state_change' AS table_name, count(eventid) AS events,
           to_iso8601(max(ts)) AS newest_event
    FROM (SELECT dt, eventid, max(from_iso8601_timestamp("timestamp")) AS ts
          FROM pipeline_execution_state_change
          WHERE {{in_window}}
          GROUP BY dt, eventid) AS e
    UNION ALL
    SELECT 'stage_execution_state_change' AS table_name, count(eventid) AS events,
           to_iso8601(max(ts)) AS newest_event
    FROM (SELECT dt, eventid, max(from_iso8601_timestamp("timestamp")) AS ts
          FROM stage_execution_state_change
          WHERE {{in_window}}
          GROUP BY dt, eventid) AS e
    UNION ALL
    SELECT 'action_execution_state_change' AS table_name, count(eventid) AS events,
           to_iso8601(max(ts)) AS newest_event
    FROM (SELECT dt, eventid, max(from_iso8601_timestamp("timestamp")) AS ts
          FROM action_execution_state_change
          WHERE {{in_window}}
          GROUP BY dt, eventid) AS e
) AS t
ORDER BY table_name
