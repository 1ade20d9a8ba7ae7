-- Compact layer for exact distinct users over a period: who was active, per day.
with day_events as (
    select * from events where event_date = $day
),

final as (
    select distinct
        organization_id,
        $day::date as date,
        user_id
    from day_events
    where organization_id is not null and event_type is not null and user_id is not null
)

select * from final order by organization_id, user_id
