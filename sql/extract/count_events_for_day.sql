-- The source's row count for the same window and snapshot as select_events_for_day.sql,
-- with its bounds as scalar subqueries for the same reason: evaluated once, not per row.
select count(*) as source_rows
from {source_table}
where created_at >= (select current_setting('analytics.window_start')::timestamptz)
  and created_at < (select current_setting('analytics.window_end')::timestamptz)
