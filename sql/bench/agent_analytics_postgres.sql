-- agent_analytics(agent, start, end) on the platform's own table (bench/serving.py's
-- PostgreSQL peer): the agent's agent_metrics columns over the period (docs/contract.md,
-- sections 2 and 3), per organisation, with the contract's validity rules applied to
-- properties (section 1), percentile_cont, and the price list's price of the model on the
-- event's UTC day: the `prices` row of the model with the latest effective_from on or
-- before it (NULL without one).
with agent_events as (
    select
        organization_id, event_type, created_at::date as event_date,
        case
            when jsonb_typeof(properties -> 'tokens') = 'number'
                then (properties -> 'tokens')::numeric
        end as tokens_number,
        case
            when jsonb_typeof(properties -> 'responseTime') = 'number'
                then (properties -> 'responseTime')::double precision
        end as response_time_number,
        case
            when jsonb_typeof(properties -> 'rating') = 'number'
                then (properties -> 'rating')::double precision
        end as rating_number,
        case when jsonb_typeof(properties -> 'model') = 'string' then properties ->> 'model' end
            as model
    from {source_table}
    where created_at >= %(start_time)s and created_at < %(end_time)s
      and organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id = %(agent)s::uuid
      and (%(organization)s::text is null or organization_id = %(organization)s::uuid)
),

typed as (
    select
        *,
        case
            when tokens_number >= 0 and tokens_number = trunc(tokens_number)
                and tokens_number < 9223372036854775808
                then tokens_number::bigint
        end as tokens,
        case when response_time_number >= 0 then response_time_number end as response_time_ms,
        case when rating_number between 1 and 5 then rating_number end as rating
    from agent_events
)

select
    organization_id,
    %(agent)s::uuid as agent_id,
    count(*) filter (where event_type = 'conversation.started') as conversation_count,
    count(*) filter (where event_type in ('message.sent', 'message.received')) as message_count,
    avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
    percentile_cont(0.5) within group (order by response_time_ms)
        filter (where event_type = 'message.received') as p50_response_time,
    percentile_cont(0.95) within group (order by response_time_ms)
        filter (where event_type = 'message.received') as p95_response_time,
    coalesce(sum(tokens), 0) as total_tokens,
    count(*) filter (where event_type = 'agent.error') as error_count,
    avg(rating) filter (where event_type = 'message.rated') as satisfaction_score,
    count(rating) filter (where event_type = 'message.rated') as rating_count,
    coalesce(sum(tokens * price.usd_per_million_tokens / 1000000), 0) as total_cost_usd
from typed
left join lateral (
    select prices.usd_per_million_tokens
    from prices
    where prices.model = typed.model and prices.effective_from <= typed.event_date
    order by prices.effective_from desc
    limit 1
) as price on true
group by organization_id
order by organization_id
