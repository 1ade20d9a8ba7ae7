-- The source's rows in one half-open UTC window [start, end), to reconcile with the lake.
select count(*) as source_rows
from {source_table}
where created_at >= %s
  and created_at < %s
