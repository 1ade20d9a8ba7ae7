-- event_counts_between(start, end) from the raw lake (bench/serving.py's DuckDB peer):
-- counted events per organisation and type over the range, unknown types included.
select organization_id, event_type, count(*) as event_count
from events
where event_date between $start and $end
  and organization_id is not null
  and event_type is not null
  and ($organization is null or organization_id = $organization)
group by organization_id, event_type
order by organization_id, event_type
