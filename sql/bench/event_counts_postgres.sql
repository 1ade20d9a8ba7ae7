-- event_counts_between(start, end) on the platform's own table (bench/serving.py's
-- PostgreSQL peer): counted events per organisation and type over the range's UTC days.
select organization_id, event_type, count(*) as event_count
from {source_table}
where created_at >= %(start_time)s and created_at < %(end_time)s
  and organization_id is not null
  and event_type is not null
  and (%(organization)s::text is null or organization_id = %(organization)s::uuid)
group by organization_id, event_type
order by organization_id, event_type
