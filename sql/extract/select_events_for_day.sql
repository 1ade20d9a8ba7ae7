-- One UTC day of raw events, streamed by COPY (which cannot take bind parameters).
-- The half-open window [window_start, window_end) arrives as transaction-local settings
-- bound by set_extraction_window.sql. created_at is normalised to a UTC timestamp whether
-- the source column is timestamp or timestamptz (the session TimeZone is UTC); the filter
-- stays on the bare column so the created_at index serves it.
select
    id,
    organization_id,
    event_type,
    resource_type,
    resource_id,
    properties,
    user_id,
    created_at::timestamptz at time zone 'UTC' as created_at
from {source_table}
where created_at >= current_setting('analytics.window_start')::timestamptz
  and created_at < current_setting('analytics.window_end')::timestamptz
