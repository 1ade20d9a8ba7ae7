-- Every local day of each report's trailing window, zero-filled: usage and cost
-- (calendar_usage_trends), response time percentiles (daily_metrics_local, NULL on days
-- without a valid value), agent errors and workflow failures (event_counts_local). A
-- report is one organisation on one as-of date, for each organisation with a card on that
-- date: a counted event in the window or the window before. `within_warehouse`: whether
-- the local day overlaps no UTC day before the warehouse's first day (a day before it is
-- shown as no data, never as zero).
with as_of_dates as (
    select generate_series::date as as_of_date
    from generate_series($first_as_of::date, $last_as_of::date, interval 1 day)
),

reports as (
    select distinct daily.organization_id, daily.timezone, as_of_dates.as_of_date
    from as_of_dates
    join daily_metrics_local as daily
        on daily.date
            between as_of_dates.as_of_date - 2 * $window_days + 1 and as_of_dates.as_of_date
    where among(daily.organization_id, $organizations)
),

report_days as (
    select
        organization_id, timezone, as_of_date,
        unnest(generate_series(as_of_date - $window_days + 1, as_of_date, interval 1 day))::date
            as date
    from reports
),

usage as (
    select *
    from calendar_usage_trends(
        $first_as_of::date - $window_days + 1, $last_as_of, 'local', $organizations
    )
),

response_times as (
    select organization_id, date, p50_response_time, p95_response_time
    from daily_metrics_local
    where date between $first_as_of::date - $window_days + 1 and $last_as_of
),

failures as (
    select
        organization_id, date,
        sum(event_count) filter (where event_type = 'agent.error') as agent_errors,
        sum(event_count) filter (where event_type = 'workflow.failed') as workflow_failures
    from event_counts_local
    where date between $first_as_of::date - $window_days + 1 and $last_as_of
        and event_type in ('agent.error', 'workflow.failed')
    group by organization_id, date
),

final as (
    select
        report_days.as_of_date,
        report_days.organization_id,
        report_days.date,
        local_day_utc_days(report_days.timezone, report_days.date)[1]::date
            >= warehouse_first_day() as within_warehouse,
        coalesce(usage.total_messages, 0) as total_messages,
        coalesce(usage.total_conversations, 0) as total_conversations,
        coalesce(usage.total_tokens, 0) as total_tokens,
        coalesce(usage.total_cost_usd, 0) as total_cost_usd,
        coalesce(usage.unique_users, 0) as unique_users,
        response_times.p50_response_time,
        response_times.p95_response_time,
        coalesce(failures.agent_errors, 0)::bigint as agent_errors,
        coalesce(failures.workflow_failures, 0)::bigint as workflow_failures
    from report_days
    left join usage using (organization_id, date)
    left join response_times using (organization_id, date)
    left join failures using (organization_id, date)
)

select * from final order by as_of_date, organization_id, date
