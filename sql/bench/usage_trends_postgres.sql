-- usage_trends(start, end) on the platform's own table (bench/serving.py's PostgreSQL
-- peer): for each organisation with a counted event in the range, every UTC day of the
-- range, zero-filled (docs/contract.md, section 3), tokens valid as section 1 says.
with counted as (
    select
        organization_id, created_at::date as date, event_type, user_id,
        case
            when jsonb_typeof(properties -> 'tokens') = 'number'
                then (properties -> 'tokens')::numeric
        end as tokens_number
    from {source_table}
    where created_at >= %(start_time)s and created_at < %(end_time)s
      and organization_id is not null
      and event_type is not null
      and (%(organization)s::text is null or organization_id = %(organization)s::uuid)
),

daily as (
    select
        organization_id,
        date,
        count(*) filter (where event_type in ('message.sent', 'message.received'))
            as total_messages,
        count(*) filter (where event_type = 'conversation.started') as total_conversations,
        coalesce(sum(tokens_number) filter (
            where tokens_number >= 0 and tokens_number = trunc(tokens_number)
                and tokens_number < 9223372036854775808
        ), 0)::bigint as total_tokens,
        count(distinct user_id) as unique_users,
        count(*) filter (where event_type = 'workflow.executed') as workflow_executions,
        count(*) filter (where event_type in ('agent.error', 'workflow.failed')) as error_count
    from counted
    group by organization_id, date
),

days as (
    select day::date as date
    from generate_series(%(start)s::date, %(end)s::date, interval '1 day') as day
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
