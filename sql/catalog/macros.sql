-- The contract's table macros (docs/contract.md, sections 3 and 7), over the catalog's views.
-- Arguments are cast, so '2025-03-01' literals work and a bad value fails with DuckDB's
-- own conversion error. Non-additive metrics (distinct users and agents, averages,
-- percentiles) are computed over the whole period from the compact daily layers, never
-- summed or averaged from daily rows. A period [start, end] is compared with the
-- previous period of the same length, which ends the day before start.
--
-- Every period macro takes `organizations := [...]` (NULL: every organisation) and
-- refuses a range with a day the warehouse does not hold complete, on the calendar it
-- reads (sql/catalog/completeness.sql): `asked` is how its refusal names the question.
--
-- One set of macros serves both calendars: 'utc' reads the UTC daily tables, 'local'
-- their _local twins, whose dates are each organisation's own calendar days and whose
-- rows name their zone. The contract's macros (overview, usage_trends, ...) are the
-- 'utc' calls, overview_local and usage_trends_local the 'local' ones.

-- Whether a row's organisation is one of those asked for (all of them: NULL).
create or replace macro among(organization, organizations) as
    organizations is null or list_contains(organizations::uuid[], organization);

-- How a period macro names itself and its range in a refusal.
create or replace macro asked_for(name, first_day, last_day) as
    name || '(' || first_day::date::varchar || ', ' || last_day::date::varchar || ')';

-- For every as-of date in [first_as_of, last_as_of]: its current and previous period.
create or replace macro analytics_periods(first_as_of, last_as_of, window_length) as table
with as_of_dates as (
    select
        generate_series::date as as_of_date,
        case
            when window_length::integer >= 1 then window_length::integer
            else error('a period must last at least 1 day, got ' || window_length::varchar)
        end as window_days
    from generate_series(first_as_of::date, last_as_of::date, interval 1 day)
)
select as_of_date, window_days, 'current' as period,
    as_of_date - window_days + 1 as start_date, as_of_date as end_date
from as_of_dates
union all
select as_of_date, window_days, 'previous' as period,
    as_of_date - 2 * window_days + 1 as start_date, as_of_date - window_days as end_date
from as_of_dates;

-- The first day read for `periods` consecutive periods of window_length days before
-- first_as_of: bounds every lake scan, so a short range never reads the whole history.
create or replace macro first_day_needed(first_as_of, window_length, periods) as
    first_as_of::date - periods * window_length::integer + 1;

-- Exact continuous percentile (as quantile_cont) from (value, value_count) pairs:
-- the value at 0-based rank r is the smallest value whose cumulative count exceeds r.
create or replace macro quantile_rank(total_count, fraction) as (total_count - 1) * fraction;

create or replace macro interpolate_quantile(low_value, high_value, rank) as
    low_value + (rank - floor(rank)) * (high_value - low_value);


-- Mean and exact p50/p95 of valid response times per organisation and period, for
-- every as-of date (the current period alone when `periods` is 1); for one agent when
-- wanted_agent is not NULL. Value counts are
-- summed per value first, then the value at rank r is the smallest value whose
-- cumulative count exceeds r.
create or replace macro response_time_summary(
    first_as_of, last_as_of, window_length, wanted_agent, calendar := 'utc',
    organizations := null, asked := null, periods := 2, guarded := true
) as table
with periods as (
    select * from analytics_periods(first_as_of, last_as_of, window_length)
    where periods = 2 or period = 'current'
),

response_time_days as (
    select
        measurement.organization_id, measurement.date, measurement.value,
        sum(measurement.value_count) as value_count
    from on_calendar('daily_measurements', calendar) as measurement
    where measurement.measure = 'response_time_ms'
      and (wanted_agent is null or measurement.agent_id = wanted_agent::uuid)
      and among(measurement.organization_id, organizations)
      and measurement.date
        between first_day_needed(first_as_of, window_length, periods) and last_as_of::date
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
),

summaries as (
    select
        organization_id, as_of_date, period,
        sum(value * value_count) / sum(value_count) as avg_response_time,
        interpolate_quantile(
            min(value) filter (where cumulative_count > floor(quantile_rank(total_count, 0.5))),
            min(value) filter (where cumulative_count > ceil(quantile_rank(total_count, 0.5))),
            quantile_rank(any_value(total_count), 0.5)
        ) as p50_response_time,
        interpolate_quantile(
            min(value) filter (where cumulative_count > floor(quantile_rank(total_count, 0.95))),
            min(value) filter (where cumulative_count > ceil(quantile_rank(total_count, 0.95))),
            quantile_rank(any_value(total_count), 0.95)
        ) as p95_response_time
    from response_time_ranks
    group by all
)

select *
from summaries
where not guarded or (
    select require_complete_days(
        first_day_needed(first_as_of, window_length, periods), last_as_of, calendar,
        organizations, coalesce(asked, asked_for('response_time_summary', first_as_of, last_as_of))
    )
);

-- Period metrics of every organisation with a counted event in either period, long
-- format, on one calendar: the contract's nine metrics and total_cost_usd (the priced
-- costs, section 8), and the organisation's zone (the one of its latest day read).
create or replace macro calendar_period_comparison(
    first_as_of, last_as_of, window_length, calendar, organizations := null, asked := null
) as table
with periods as (
    select * from analytics_periods(first_as_of, last_as_of, window_length)
),

daily_days as (
    select * from on_calendar('daily_metrics', calendar)
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
      and among(organization_id, organizations)
),

active_days as (
    select * from on_calendar('daily_active_users', calendar)
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
      and among(organization_id, organizations)
),

agent_days as (
    select * from on_calendar('agent_metrics', calendar)
    where date between first_day_needed(first_as_of, window_length, 2) and last_as_of::date
      and among(organization_id, organizations)
),

additive as (
    select
        daily.organization_id, periods.as_of_date, periods.window_days, periods.period,
        sum(daily.total_messages) as total_messages,
        sum(daily.total_conversations) as total_conversations,
        sum(daily.total_tokens) as total_tokens,
        sum(daily.workflow_executions) as workflow_executions,
        sum(daily.error_count) as error_count,
        sum(daily.total_cost_usd) as total_cost_usd
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
    -- this macro's own guard covers the periods
    select *
    from response_time_summary(
        first_as_of, last_as_of, window_length, null, calendar, organizations, asked,
        guarded := false
    )
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
        coalesce(additive.error_count, 0)::double as error_count,
        coalesce(additive.total_cost_usd, 0)::double as total_cost_usd
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
            p95_response_time, agent_count, workflow_executions, error_count, total_cost_usd
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

select *
from final
where (
    select require_complete_days(
        first_day_needed(first_as_of, window_length, 2), last_as_of, calendar, organizations,
        coalesce(asked, asked_for('calendar_period_comparison', first_as_of, last_as_of))
    )
);

-- The published period_comparison for any as-of dates and window: the contract's nine
-- metrics on UTC days (section 3 lists them; the cost is overview's addition).
create or replace macro period_comparison_between(
    first_as_of, last_as_of, window_length, organizations := null, asked := null
) as table
select * exclude (timezone)
from calendar_period_comparison(
    first_as_of, last_as_of, window_length, 'utc', organizations,
    coalesce(asked, asked_for('period_comparison_between', first_as_of, last_as_of))
)
where metric <> 'total_cost_usd';

-- Every agent's totals over the current period ending on each as-of date. Column
-- references in macros that agent_analytics calls are qualified: DuckDB would read a
-- bare agent_id there as agent_analytics' own argument.
create or replace macro agent_period_totals(
    first_as_of, last_as_of, window_length, calendar := 'utc', organizations := null,
    asked := null, guarded := true
) as table
with periods as (
    select * from analytics_periods(first_as_of, last_as_of, window_length)
    where period = 'current'
),

agent_days as (
    select * from on_calendar('agent_metrics', calendar) as agent
    where agent.date between first_day_needed(first_as_of, window_length, 1) and last_as_of::date
      and among(agent.organization_id, organizations)
),

agent_measurement_days as (
    select * from on_calendar('daily_measurements', calendar) as measurement
    where measurement.agent_id is not null
      and among(measurement.organization_id, organizations)
      and measurement.date
        between first_day_needed(first_as_of, window_length, 1) and last_as_of::date
),

totals as (
    select
        agent.organization_id, periods.as_of_date, periods.window_days, agent.agent_id,
        sum(agent.message_count) as message_count,
        sum(agent.conversation_count) as conversation_count,
        sum(agent.total_tokens) as total_tokens,
        sum(agent.error_count) as error_count,
        sum(agent.total_cost_usd) as total_cost_usd
    from periods
    join agent_days as agent on agent.date between periods.start_date and periods.end_date
    group by all
),

measures as (
    select
        measurement.organization_id, periods.as_of_date, measurement.agent_id,
        sum(measurement.value * measurement.value_count)
            filter (where measurement.measure = 'response_time_ms')
            / sum(measurement.value_count) filter (where measurement.measure = 'response_time_ms')
            as avg_response_time,
        sum(measurement.value * measurement.value_count)
            filter (where measurement.measure = 'rating')
            / sum(measurement.value_count) filter (where measurement.measure = 'rating')
            as satisfaction_score,
        sum(measurement.value_count) filter (where measurement.measure = 'rating')
            as rating_count
    from periods
    join agent_measurement_days as measurement
        on measurement.date between periods.start_date and periods.end_date
    group by all
)

select
    totals.organization_id,
    totals.as_of_date,
    totals.window_days::integer as window_days,
    totals.agent_id,
    totals.message_count::bigint as message_count,
    totals.conversation_count::bigint as conversation_count,
    totals.total_tokens::bigint as total_tokens,
    measures.avg_response_time,
    totals.error_count::bigint as error_count,
    measures.satisfaction_score,
    coalesce(measures.rating_count, 0)::bigint as rating_count,
    coalesce(totals.total_cost_usd, 0)::double as total_cost_usd
from totals
left join measures
    on measures.organization_id = totals.organization_id
    and measures.as_of_date = totals.as_of_date
    and measures.agent_id = totals.agent_id
where not guarded or (
    select require_complete_days(
        first_day_needed(first_as_of, window_length, 1), last_as_of, calendar, organizations,
        coalesce(asked, asked_for('agent_period_totals', first_as_of, last_as_of))
    )
);

-- Agents of each organisation over the period ending on each as-of date, ranked by
-- messages, then conversations, then the agent id's text; the first n kept. The
-- published top_agents and top_agents_between leave out the last column, total_cost_usd.
create or replace macro top_agents_ranked(
    first_as_of, last_as_of, window_length, n, calendar := 'utc', organizations := null,
    asked := null
) as table
with ranked as (
    select
        organization_id, as_of_date, window_days,
        row_number() over (
            partition by organization_id, as_of_date
            order by message_count desc, conversation_count desc, agent_id::varchar asc
        ) as rank,
        agent_id, message_count, conversation_count, total_tokens, avg_response_time,
        error_count, satisfaction_score, rating_count, total_cost_usd
    from agent_period_totals(
        first_as_of, last_as_of, window_length, calendar, organizations,
        coalesce(asked, asked_for('top_agents_ranked', first_as_of, last_as_of))
    )
)

select * from ranked where rank <= n::integer;

-- One period against the previous one: period_comparison's columns and metrics, and
-- total_cost_usd beside total_tokens as one more metric row (long format: no new column).
create or replace macro overview(start_date, end_date, organizations := null) as table
select * exclude (timezone)
from calendar_period_comparison(
    end_date::date, end_date::date, end_date::date - start_date::date + 1, 'utc',
    organizations, asked_for('overview', start_date, end_date)
);

-- overview over each organisation's local days, naming the zone (`timezone`, last).
create or replace macro overview_local(start_date, end_date, organizations := null) as table
select *
from calendar_period_comparison(
    end_date::date, end_date::date, end_date::date - start_date::date + 1, 'local',
    organizations, asked_for('overview_local', start_date, end_date)
);

create or replace macro top_agents_between(start_date, end_date, n, organizations := null) as table
select * exclude (total_cost_usd)
from top_agents_ranked(
    end_date::date, end_date::date, end_date::date - start_date::date + 1, n, 'utc',
    organizations, asked_for('top_agents_between', start_date, end_date)
);

-- One agent's metrics over [start_date, end_date], per organisation it has events in:
-- the agent_metrics columns (total_cost_usd last, as there).
create or replace macro agent_analytics(agent_id, start_date, end_date) as table
with arguments as (
    -- a CTE, so a malformed id fails the query even when no agent has events
    select agent_id::uuid as wanted_agent_id
),

totals as (
    select agent_totals.*
    -- (this macro's own guard covers the period)
    from agent_period_totals(
        end_date::date, end_date::date, end_date::date - start_date::date + 1, 'utc', null,
        guarded := false
    ) as agent_totals, arguments
    where agent_totals.agent_id = arguments.wanted_agent_id
),

response_times as (
    select *
    from response_time_summary(
        end_date::date, end_date::date, end_date::date - start_date::date + 1, agent_id, 'utc',
        null, periods := 1, guarded := false
    )
)

select
    totals.organization_id,
    totals.agent_id,
    totals.conversation_count,
    totals.message_count,
    totals.avg_response_time,
    response_times.p50_response_time,
    response_times.p95_response_time,
    totals.total_tokens,
    totals.error_count,
    totals.satisfaction_score,
    totals.rating_count,
    totals.total_cost_usd
from totals
left join response_times using (organization_id)
where (
    select require_complete_utc_days(
        start_date, end_date, asked_for('agent_analytics', start_date, end_date)
    )
)
order by totals.organization_id;

-- Each organisation with a counted event in the range, every day of the range,
-- zero-filled, on one calendar: usage_trends' columns, total_cost_usd beside
-- total_tokens, and the zone of the organisation's latest day in the range.
create or replace macro calendar_usage_trends(
    start_date, end_date, calendar, organizations := null, asked := null
) as table
with days as (
    select generate_series::date as date
    from generate_series(start_date::date, end_date::date, interval 1 day)
),

in_range as (
    select * from on_calendar('daily_metrics', calendar)
    where date between start_date::date and end_date::date
      and among(organization_id, organizations)
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
    coalesce(in_range.total_cost_usd, 0)::double as total_cost_usd,
    coalesce(in_range.unique_users, 0) as unique_users,
    coalesce(in_range.workflow_executions, 0) as workflow_executions,
    coalesce(in_range.error_count, 0) as error_count,
    organizations.timezone
from organizations
cross join days
left join in_range
    on in_range.organization_id = organizations.organization_id and in_range.date = days.date
where (
    select require_complete_days(
        start_date, end_date, calendar, organizations,
        coalesce(asked, asked_for('calendar_usage_trends', start_date, end_date))
    )
)
order by organizations.organization_id, days.date;

-- The contract's columns exactly (section 3 lists them; no cost column).
create or replace macro usage_trends(start_date, end_date, organizations := null) as table
select * exclude (total_cost_usd, timezone)
from calendar_usage_trends(
    start_date, end_date, 'utc', organizations, asked_for('usage_trends', start_date, end_date)
);

create or replace macro usage_trends_local(start_date, end_date, organizations := null) as table
select * exclude (total_cost_usd)
from calendar_usage_trends(
    start_date, end_date, 'local', organizations,
    asked_for('usage_trends_local', start_date, end_date)
);

create or replace macro event_counts_between(
    start_date, end_date, calendar := 'utc', organizations := null
) as table
with counts as (
    select organization_id, event_type, sum(event_count)::bigint as event_count
    from on_calendar('event_counts', calendar)
    where date between start_date::date and end_date::date
      and among(organization_id, organizations)
    group by organization_id, event_type
)

select *
from counts
where (
    select require_complete_days(
        start_date, end_date, calendar, organizations,
        asked_for('event_counts_between', start_date, end_date)
    )
)
order by organization_id, event_type;
