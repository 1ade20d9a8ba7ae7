-- event_counts_between(start, end) from the raw lake's Parquet files in chDB
-- (bench/serving.py): counted events per organisation and type, unknown types included.
select organization_id, event_type, count() as event_count
from events
where event_date between {start:Date32} and {end:Date32}
  and organization_id is not null
  and event_type is not null
  and ({organization:String} = '' or organization_id = {organization:String})
group by organization_id, event_type
order by organization_id, event_type
