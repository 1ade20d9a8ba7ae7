-- One UTC day of raw events, streamed by COPY (which cannot take bind parameters).
-- The half-open window [window_start, window_end) arrives as transaction-local settings
-- bound by set_extraction_window.sql. created_at is normalised to a UTC timestamp whether
-- the source column is timestamp or timestamptz (the session TimeZone is UTC); the filter
-- stays on the bare column so the created_at index serves it. Each bound is a scalar
-- subquery, evaluated once per query: a bare current_setting() is re-evaluated on every
-- row and made the scan nearly twice as slow.
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
where created_at >= (select current_setting('analytics.window_start')::timestamptz)
  and created_at < (select current_setting('analytics.window_end')::timestamptz)
