-- overview(start, end) from the raw lake (bench/serving.py's DuckDB peer): the contract's
-- nine metrics (docs/contract.md, section 3) of each organisation over the period and
-- the one before it, straight from the typed `events` view: exact distinct users and
-- agents, exact continuous percentiles. One row per organisation and period (the macro
-- answers in long format, a row per metric; the numbers are the same).
with counted as (
    select
        organization_id, event_type, resource_type, resource_id, user_id, tokens,
        response_time_ms,
        case when event_date >= $start then 'current' else 'previous' end as period
    from events
    where event_date between $previous_start and $end
      and organization_id is not null
      and event_type is not null
      and ($organization is null or organization_id = $organization)
)

select
    organization_id,
    period,
    count(*) filter (where event_type in ('message.sent', 'message.received')) as total_messages,
    count(*) filter (where event_type = 'conversation.started') as total_conversations,
    coalesce(sum(tokens), 0) as total_tokens,
    count(distinct user_id) as unique_users,
    avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
    quantile_cont(response_time_ms, 0.95) filter (where event_type = 'message.received')
        as p95_response_time,
    count(distinct resource_id) filter (where resource_type = 'agent') as agent_count,
    count(*) filter (where event_type = 'workflow.executed') as workflow_executions,
    count(*) filter (where event_type in ('agent.error', 'workflow.failed')) as error_count
from counted
group by organization_id, period
