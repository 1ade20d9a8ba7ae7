-- Compact layer for exact averages and percentiles over a period: each valid value with
-- how often it occurred. Latencies are mostly whole milliseconds, so a month of them
-- folds into a few thousand rows per organisation.
with day_events as (
    select * from events where event_date = $day
),

counted as (
    select
        organization_id,
        case when resource_type = 'agent' then resource_id end as agent_id,
        event_type,
        response_time_ms,
        rating
    from day_events
    where organization_id is not null and event_type is not null
),

measurements as (
    select organization_id, agent_id, 'response_time_ms' as measure, response_time_ms as value
    from counted
    where event_type = 'message.received' and response_time_ms is not null
    union all
    select organization_id, agent_id, 'rating' as measure, rating as value
    from counted
    where event_type = 'message.rated' and rating is not null
),

final as (
    select
        organization_id,
        agent_id,
        $day::date as date,
        measure,
        value,
        count(*) as value_count
    from measurements
    group by organization_id, agent_id, measure, value
)

select * from final order by organization_id, agent_id, measure, value
