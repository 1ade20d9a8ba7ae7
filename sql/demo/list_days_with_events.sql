-- The UTC days of the half-open window [start, end) that already hold events: the demo
-- seeds only the others. The session's TimeZone is UTC, for timestamp and timestamptz.
select distinct (created_at::timestamptz at time zone 'UTC')::date as day
from {source_table}
where created_at >= %s
  and created_at < %s
