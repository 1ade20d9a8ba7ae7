-- agent_analytics(agent, start, end) from the raw lake's Parquet files in chDB
-- (bench/serving.py): the agent's agent_metrics columns over the period (docs/contract.md,
-- sections 2 and 3), per organisation; exact continuous percentiles
-- (quantileExactInclusive), NULL rather than nan without values (OrNull); the model a
-- JSON string of properties, priced as the price list says: the `prices` row of the model
-- with the latest effective_from on or before the event's day (an ASOF join; NULL without
-- one, the price column being Nullable).
select
    organization_id,
    {agent:String} as agent_id,
    countIf(event_type = 'conversation.started') as conversation_count,
    countIf(event_type in ('message.sent', 'message.received')) as message_count,
    avgOrNullIf(response_time_ms, event_type = 'message.received') as avg_response_time,
    quantileExactInclusiveOrNullIf(0.5)(response_time_ms, event_type = 'message.received')
        as p50_response_time,
    quantileExactInclusiveOrNullIf(0.95)(response_time_ms, event_type = 'message.received')
        as p95_response_time,
    sum(ifNull(tokens, 0)) as total_tokens,
    countIf(event_type = 'agent.error') as error_count,
    avgOrNullIf(rating, event_type = 'message.rated') as satisfaction_score,
    countIf(rating is not null and event_type = 'message.rated') as rating_count,
    sum(ifNull(tokens * prices.usd_per_million_tokens / 1000000, 0)) as total_cost_usd
from (
    select
        organization_id, event_type, tokens, response_time_ms, rating, event_date,
        if(JSONType(properties, 'model') = 'String', JSONExtractString(properties, 'model'), NULL)
            as model
    from events
    where event_date between {start:Date32} and {end:Date32}
      and organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id = {agent:String}
      and ({organization:String} = '' or organization_id = {organization:String})
) as agent_events
asof left join prices
    on agent_events.model = prices.model and agent_events.event_date >= prices.effective_from
group by organization_id
order by organization_id
