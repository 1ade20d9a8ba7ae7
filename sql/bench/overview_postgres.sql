-- overview(start, end) on the platform's own table (bench/serving.py's PostgreSQL peer):
-- the contract's nine metrics (docs/contract.md, section 3) of each organisation over the
-- period and the one before it, one row per organisation and period, with the contract's
-- validity rules applied to properties (section 1: tokens an integral JSON number >= 0,
-- responseTime a JSON number >= 0), count(distinct ...) and percentile_cont.
with counted as (
    select
        organization_id, event_type, resource_type, resource_id, user_id,
        case when created_at >= %(start_time)s then 'current' else 'previous' end as period,
        case
            when jsonb_typeof(properties -> 'tokens') = 'number'
                then (properties -> 'tokens')::numeric
        end as tokens_number,
        case
            when jsonb_typeof(properties -> 'responseTime') = 'number'
                then (properties -> 'responseTime')::double precision
        end as response_time_number
    from {source_table}
    where created_at >= %(previous_start_time)s and created_at < %(end_time)s
      and organization_id is not null
      and event_type is not null
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
        case when response_time_number >= 0 then response_time_number end as response_time_ms
    from counted
)

select
    organization_id,
    period,
    count(*) filter (where event_type in ('message.sent', 'message.received')) as total_messages,
    count(*) filter (where event_type = 'conversation.started') as total_conversations,
    coalesce(sum(tokens), 0) as total_tokens,
    count(distinct user_id) as unique_users,
    avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
    percentile_cont(0.95) within group (order by response_time_ms)
        filter (where event_type = 'message.received') as p95_response_time,
    count(distinct resource_id) filter (where resource_type = 'agent') as agent_count,
    count(*) filter (where event_type = 'workflow.executed') as workflow_executions,
    count(*) filter (where event_type in ('agent.error', 'workflow.failed')) as error_count
from typed
group by organization_id, period
