-- The source's oldest created_at before the retention cutoff (NULL when none); the
-- created_at index answers it without a scan.
select min(created_at) as oldest
from {source_table}
where created_at < %s
