-- agent_metrics for one UTC day (docs/contract.md, section 2): counted events of agents.
with day_events as (
    select * from priced_events where event_date = $day
),

agent_events as (
    select *
    from day_events
    where organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id is not null
),

final as (
    select
        organization_id,
        resource_id as agent_id,
        $day::date as date,
        count(*) filter (where event_type = 'conversation.started') as conversation_count,
        count(*) filter (where event_type in ('message.sent', 'message.received')) as message_count,
        avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
        quantile_cont(response_time_ms, 0.5) filter (where event_type = 'message.received')
            as p50_response_time,
        quantile_cont(response_time_ms, 0.95) filter (where event_type = 'message.received')
            as p95_response_time,
        coalesce(sum(tokens), 0)::bigint as total_tokens,
        count(*) filter (where event_type = 'agent.error') as error_count,
        avg(rating) filter (where event_type = 'message.rated') as satisfaction_score,
        count(rating) filter (where event_type = 'message.rated') as rating_count,
        coalesce(sum(cost_usd), 0)::double as total_cost_usd
    from agent_events
    group by organization_id, resource_id
)

select * from final order by organization_id, agent_id
