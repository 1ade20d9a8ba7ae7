-- overview and usage_trends over each organisation's local calendar days (metrics.md,
-- section 7), loaded after macros.sql, whose period helpers (analytics_periods,
-- first_day_needed, quantile_rank, interpolate_quantile) they reuse. As in the UTC
-- macros, non-additive metrics come from the compact layers (daily_active_users_local,
-- daily_measurements_local, agent_metrics_local), never summed from daily rows, so they
-- stay exact over any range of local days, also after the raw lake is retired. Dates
-- are local dates: [start_date, end_date] is each organisation's own calendar. Every row
-- names the zone (`timezone`, the last column) the organisation's latest day in the
-- range was computed in.

-- Mean and exact p50/p95 of valid response times per organisation and period of local days.
create or replace macro local_response_time_summary(
    first_as_of, last_as_of, window_length
) as table
with periods as (
    select * from analytics_periods(first_as_of, last_as_of, window_length)
),

response_time_days as (
    select organization_id, date, value, sum(value_count) as value_count
    from daily_measurements_local
    where measure = 'response_time_ms'
      and date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
    group by all
),

response_time_values as (
    select
        measurement.organization_id, periods.as_of_date, periods.period, measurement.value,
        sum(measurement.value_count) as value_count
    from periods
    join response_time_days as measurement
        on measurement.date between periods.start_date and periods.end_date
    group by all
),

response_time_ranks as (
    select
        *,
        sum(value_count) over (
            partition by organization_id, as_of_date, period order by value
        ) as cumulative_count,
        sum(value_count) over (partition by organization_id, as_of_date, period) as total_count
    from response_time_values
)

select
    organization_id, as_of_date, period,
    sum(value * value_count) / sum(value_count) as avg_response_time,
    interpolate_quantile(
        min(value) filter (where cumulative_count > floor(quantile_rank(total_count, 0.95))),
        min(value) filter (where cumulative_count > ceil(quantile_rank(total_count, 0.95))),
        quantile_rank(any_value(total_count), 0.95)
    ) as p95_response_time
from response_time_ranks
group by all;

-- period_comparison_between over local days, for the as-of dates of one range.
create or replace macro local_period_comparison_between(
    first_as_of, last_as_of, window_length
) as table
with periods as (
    select * from analytics_periods(first_as_of, last_as_of, window_length)
),

daily_days as (
    select * from daily_metrics_local
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
),

active_days as (
    select * from daily_active_users_local
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
),

agent_days as (
    select * from agent_metrics_local
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
),

additive as (
    select
        daily.organization_id, periods.as_of_date, periods.window_days, periods.period,
        sum(daily.total_messages) as total_messages,
        sum(daily.total_conversations) as total_conversations,
        sum(daily.total_tokens) as total_tokens,
        sum(daily.workflow_executions) as workflow_executions,
        sum(daily.error_count) as error_count
    from periods
    join daily_days as daily on daily.date between periods.start_date and periods.end_date
    group by all
),

users as (
    select
        active.organization_id, periods.as_of_date, periods.period,
        count(distinct active.user_id) as unique_users
    from periods
    join active_days as active on active.date between periods.start_date and periods.end_date
    group by all
),

agents as (
    select
        agent.organization_id, periods.as_of_date, periods.period,
        count(distinct agent.agent_id) as agent_count
    from periods
    join agent_days as agent on agent.date between periods.start_date and periods.end_date
    group by all
),

response_times as (
    select * from local_response_time_summary(first_as_of, last_as_of, window_length)
),

zones as (
    select organization_id, arg_max(timezone, date) as timezone
    from daily_days
    group by organization_id
),

organizations as (
    select distinct organization_id, as_of_date, window_days from additive
),

metrics as (
    select
        organizations.organization_id, organizations.as_of_date, organizations.window_days,
        period_names.period,
        coalesce(additive.total_messages, 0)::double as total_messages,
        coalesce(additive.total_conversations, 0)::double as total_conversations,
        coalesce(additive.total_tokens, 0)::double as total_tokens,
        coalesce(users.unique_users, 0)::double as unique_users,
        response_times.avg_response_time,
        response_times.p95_response_time,
        coalesce(agents.agent_count, 0)::double as agent_count,
        coalesce(additive.workflow_executions, 0)::double as workflow_executions,
        coalesce(additive.error_count, 0)::double as error_count
    from organizations
    cross join (values ('current'), ('previous')) as period_names (period)
    left join additive using (organization_id, as_of_date, period)
    left join users using (organization_id, as_of_date, period)
    left join agents using (organization_id, as_of_date, period)
    left join response_times using (organization_id, as_of_date, period)
),

long as (
    -- include nulls: an average with no values is a NULL row, not a missing one
    select *
    from metrics
    unpivot include nulls (
        metric_value for metric in (
            total_messages, total_conversations, total_tokens, unique_users, avg_response_time,
            p95_response_time, agent_count, workflow_executions, error_count
        )
    )
),

final as (
    select
        current.organization_id,
        current.as_of_date,
        current.window_days::integer as window_days,
        current.metric,
        current.metric_value as current_value,
        previous.metric_value as previous_value,
        case
            when previous.metric_value <> 0
                then (current.metric_value - previous.metric_value) / previous.metric_value * 100
        end as change_pct,
        zones.timezone
    from long as current
    left join long as previous
        on previous.organization_id = current.organization_id
        and previous.as_of_date = current.as_of_date
        and previous.metric = current.metric
        and previous.period = 'previous'
    join zones on zones.organization_id = current.organization_id
    where current.period = 'current'
)

select * from final;

create or replace macro overview_local(start_date, end_date) as table
select * from local_period_comparison_between(
    end_date::date, end_date::date, end_date::date - start_date::date + 1
);

-- Each organisation with a counted event in the range of its local days, every day of
-- the range, zero-filled.
create or replace macro usage_trends_local(start_date, end_date) as table
with days as (
    select generate_series::date as date
    from generate_series(start_date::date, end_date::date, interval 1 day)
),

in_range as (
    select * from daily_metrics_local where date between start_date::date and end_date::date
),

organizations as (
    select organization_id, arg_max(timezone, date) as timezone
    from in_range
    group by organization_id
)

select
    organizations.organization_id,
    days.date,
    coalesce(in_range.total_messages, 0) as total_messages,
    coalesce(in_range.total_conversations, 0) as total_conversations,
    coalesce(in_range.total_tokens, 0) as total_tokens,
    coalesce(in_range.unique_users, 0) as unique_users,
    coalesce(in_range.workflow_executions, 0) as workflow_executions,
    coalesce(in_range.error_count, 0) as error_count,
    organizations.timezone
from organizations
cross join days
left join in_range
    on in_range.organization_id = organizations.organization_id and in_range.date = days.date
order by organizations.organization_id, days.date;
