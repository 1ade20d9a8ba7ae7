-- agent_analytics(agent, start, end) from the raw lake (bench/serving.py's DuckDB peer):
-- the agent's agent_metrics columns over the period (docs/contract.md, sections 2 and
-- 3), per organisation it has events in, from the typed `events` view; the cost with the
-- price list's price of the model on the event's day: the `prices` row of the model with
-- the latest effective_from on or before it (an ASOF join; NULL without one).
with agent_events as (
    select
        organization_id, event_type, tokens, response_time_ms, rating, event_date,
        case
            when json_type(properties, '$.model') = 'VARCHAR' then properties ->> '$.model'
        end as model
    from events
    where event_date between $start and $end
      and organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id = $agent
      and ($organization is null or organization_id = $organization)
)

select
    organization_id,
    $agent::uuid as agent_id,
    count(*) filter (where event_type = 'conversation.started') as conversation_count,
    count(*) filter (where event_type in ('message.sent', 'message.received')) as message_count,
    avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
    quantile_cont(response_time_ms, 0.5) filter (where event_type = 'message.received')
        as p50_response_time,
    quantile_cont(response_time_ms, 0.95) filter (where event_type = 'message.received')
        as p95_response_time,
    coalesce(sum(tokens), 0) as total_tokens,
    count(*) filter (where event_type = 'agent.error') as error_count,
    avg(rating) filter (where event_type = 'message.rated') as satisfaction_score,
    count(rating) filter (where event_type = 'message.rated') as rating_count,
    coalesce(sum(tokens * prices.usd_per_million_tokens / 1000000), 0) as total_cost_usd
from agent_events
asof left join prices
    on agent_events.model = prices.model and agent_events.event_date >= prices.effective_from
group by organization_id
order by organization_id
