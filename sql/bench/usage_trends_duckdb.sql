-- usage_trends(start, end) from the raw lake (bench/serving.py's DuckDB peer): for each
-- organisation with a counted event in the range, every day of the range, zero-filled
-- (docs/contract.md, section 3), from the typed `events` view.
with counted as (
    select organization_id, event_date, event_type, user_id, tokens
    from events
    where event_date between $start and $end
      and organization_id is not null
      and event_type is not null
      and ($organization is null or organization_id = $organization)
),

daily as (
    select
        organization_id,
        event_date as date,
        count(*) filter (where event_type in ('message.sent', 'message.received'))
            as total_messages,
        count(*) filter (where event_type = 'conversation.started') as total_conversations,
        coalesce(sum(tokens), 0) as total_tokens,
        count(distinct user_id) as unique_users,
        count(*) filter (where event_type = 'workflow.executed') as workflow_executions,
        count(*) filter (where event_type in ('agent.error', 'workflow.failed')) as error_count
    from counted
    group by organization_id, event_date
),

days as (
    select generate_series::date as date
    from generate_series($start::date, $end::date, interval 1 day)
),

organizations as (
    select distinct organization_id from daily
)

select
    organizations.organization_id,
    days.date,
    coalesce(daily.total_messages, 0) as total_messages,
    coalesce(daily.total_conversations, 0) as total_conversations,
    coalesce(daily.total_tokens, 0) as total_tokens,
    coalesce(daily.unique_users, 0) as unique_users,
    coalesce(daily.workflow_executions, 0) as workflow_executions,
    coalesce(daily.error_count, 0) as error_count
from organizations
cross join days
left join daily
    on daily.organization_id = organizations.organization_id and daily.date = days.date
order by organizations.organization_id, days.date
