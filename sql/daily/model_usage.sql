-- model_usage for one UTC day (docs/contract.md, section 8): counted events with valid tokens
-- per organisation and model (NULL when properties.model is not a JSON string). cost_usd
-- is NULL when the model has no price that day.
with day_events as (
    select * from priced_events where event_date = $day
),

token_events as (
    select *
    from day_events
    where organization_id is not null and event_type is not null and tokens is not null
),

final as (
    select
        organization_id,
        $day::date as date,
        model,
        count(*) as event_count,
        sum(tokens)::bigint as total_tokens,
        sum(cost_usd)::double as cost_usd
    from token_events
    group by organization_id, model
)

select * from final order by organization_id, model nulls first
