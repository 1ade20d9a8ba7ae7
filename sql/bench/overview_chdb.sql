-- overview(start, end) from the raw lake's Parquet files in chDB (bench/serving.py): the
-- contract's nine metrics (docs/contract.md, section 3) of each organisation over the
-- period and the one before it, one row per organisation and period. Exact: uniqExact for
-- distinct users and agents, quantileExactInclusive (linear interpolation, as
-- percentile_cont) for the percentile; the OrNull combinator gives NULL, not nan, without
-- values. Ids are the files' text.
select
    organization_id,
    if(event_date >= {start:Date32}, 'current', 'previous') as period,
    countIf(event_type in ('message.sent', 'message.received')) as total_messages,
    countIf(event_type = 'conversation.started') as total_conversations,
    sum(ifNull(tokens, 0)) as total_tokens,
    uniqExact(user_id) as unique_users,
    avgOrNullIf(response_time_ms, event_type = 'message.received') as avg_response_time,
    quantileExactInclusiveOrNullIf(0.95)(response_time_ms, event_type = 'message.received')
        as p95_response_time,
    uniqExactIf(resource_id, resource_type = 'agent') as agent_count,
    countIf(event_type = 'workflow.executed') as workflow_executions,
    countIf(event_type in ('agent.error', 'workflow.failed')) as error_count
from events
where event_date between {previous_start:Date32} and {end:Date32}
  and organization_id is not null
  and event_type is not null
  and ({organization:String} = '' or organization_id = {organization:String})
group by organization_id, period
