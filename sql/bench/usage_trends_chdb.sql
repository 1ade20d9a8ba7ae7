-- usage_trends(start, end) from the raw lake's Parquet files in chDB (bench/serving.py):
-- for each organisation with a counted event in the range, every day of the range,
-- zero-filled (docs/contract.md, section 3); uniqExact for the day's distinct users.
with daily as (
    select
        organization_id,
        toDate(event_date) as date,
        countIf(event_type in ('message.sent', 'message.received')) as total_messages,
        countIf(event_type = 'conversation.started') as total_conversations,
        sum(ifNull(tokens, 0)) as total_tokens,
        uniqExact(user_id) as unique_users,
        countIf(event_type = 'workflow.executed') as workflow_executions,
        countIf(event_type in ('agent.error', 'workflow.failed')) as error_count
    from events
    where event_date between {start:Date32} and {end:Date32}
      and organization_id is not null
      and event_type is not null
      and ({organization:String} = '' or organization_id = {organization:String})
    group by organization_id, date
),

days as (
    select toDate({start:Date32}) + number as date from numbers({days:UInt32})
),

organizations as (
    select distinct organization_id from daily
)

select
    organizations.organization_id as organization_id,
    days.date as date,
    daily.total_messages as total_messages,
    daily.total_conversations as total_conversations,
    daily.total_tokens as total_tokens,
    daily.unique_users as unique_users,
    daily.workflow_executions as workflow_executions,
    daily.error_count as error_count
from organizations
cross join days
-- ClickHouse fills a missing right row with the columns' defaults: zero
left join daily
    on daily.organization_id = organizations.organization_id and daily.date = days.date
order by organization_id, date
