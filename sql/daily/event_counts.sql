-- event_counts for one UTC day: counted events per type, types the contract does not
-- list included.
with day_events as (
    select * from events where event_date = $day
),

final as (
    select
        organization_id,
        $day::date as date,
        event_type,
        count(*) as event_count
    from day_events
    where organization_id is not null and event_type is not null
    group by organization_id, event_type
)

select * from final order by organization_id, event_type
