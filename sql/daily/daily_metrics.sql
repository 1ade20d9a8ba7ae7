-- daily_metrics for one UTC day (docs/contract.md, section 2): one row per organisation with
-- a counted event. Response times are in ms; costs from priced_events (section 8).
with day_events as (
    select * from priced_events where event_date = $day
),

counted as (
    select * from day_events where organization_id is not null and event_type is not null
),

final as (
    select
        organization_id,
        $day::date as date,
        count(*) filter (where event_type in ('message.sent', 'message.received')) as total_messages,
        count(*) filter (where event_type = 'conversation.started') as total_conversations,
        coalesce(sum(tokens), 0)::bigint as total_tokens,
        count(distinct user_id) as unique_users,
        avg(response_time_ms) filter (where event_type = 'message.received') as avg_response_time,
        quantile_cont(response_time_ms, 0.5) filter (where event_type = 'message.received')
            as p50_response_time,
        quantile_cont(response_time_ms, 0.95) filter (where event_type = 'message.received')
            as p95_response_time,
        count(distinct resource_id) filter (where resource_type = 'agent') as agent_count,
        count(*) filter (where event_type = 'workflow.executed') as workflow_executions,
        count(*) filter (where event_type in ('agent.error', 'workflow.failed')) as error_count,
        count(*) as event_count,
        coalesce(sum(cost_usd), 0)::double as total_cost_usd
    from counted
    group by organization_id
)

select * from final order by organization_id
