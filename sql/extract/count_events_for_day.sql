-- The source's row count for the same window and snapshot as select_events_for_day.sql.
select count(*) as source_rows
from {source_table}
where created_at >= current_setting('analytics.window_start')::timestamptz
  and created_at < current_setting('analytics.window_end')::timestamptz
