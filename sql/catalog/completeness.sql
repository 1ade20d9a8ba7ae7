-- Completeness (docs/contract.md, section 10): which days the warehouse holds, on the UTC
-- calendar and on each organisation's local calendar, from `published_partitions` (every
-- published partition of every table, with the record of the settings it was computed
-- with) through the state derived from it (sql/catalog/completeness_state.sql). daily_table_names() and local_table_names() are defined before this file, from
-- warehouse/tables.py. Every period macro calls a require_* guard, so that a range with a
-- day the warehouse does not hold is refused in one sentence instead of read as zero.

-- The warehouse's first day: the earliest UTC day with a published events partition.
-- (columns qualified: a macro argument of the same name, first_day, would replace them)
create or replace macro warehouse_first_day() as (
    select summary.first_day from completeness_summary as summary
);

-- Whether a day lies before the first day: outside the warehouse, complete and empty.
create or replace macro before_first_day(day) as
    coalesce(day::date < warehouse_first_day(), false);

-- Every UTC day from the first day on that every daily table has published.
create or replace macro complete_utc_days() as table
select complete.date from completeness_complete_days as complete;

-- The latest UTC day such that it and every day from the first day to it are complete;
-- NULL for a warehouse whose first day is not complete (or that holds none).
create or replace macro last_complete_day() as (
    select summary.last_complete_day from completeness_summary as summary
);

-- Each day of [first_day, last_day] and whether the warehouse holds it complete.
create or replace macro utc_days_status(first_day, last_day) as table
select
    days.day::date as date,
    before_first_day(days.day) or complete.date is not null as is_complete
from generate_series(first_day::date, last_day::date, interval 1 day) as days (day)
left join complete_utc_days() as complete on complete.date = days.day::date;

-- Why a UTC day is not complete, in words.
create or replace macro incomplete_utc_day_reason(day) as
    case
        when day::date >= utc_today()
            then 'it is not over yet: today is ' || utc_today()::varchar || ' UTC'
        when coalesce(
            day::date > (select summary.last_events_day from completeness_summary as summary),
            true
        )
            then 'it is not materialised yet'
        when day::date not in (select events_day.date from completeness_events_days as events_day)
            then 'it was never materialised: a gap'
        else 'not every daily table is published for it'
    end;

create or replace macro last_complete_day_text() as
    coalesce(last_complete_day()::varchar, 'none yet');

-- True, or an error naming the first day of [first_day, last_day] that is not complete,
-- why, and the last complete day. `asked` names the macro and range in the sentence.
create or replace macro require_complete_utc_days(first_day, last_day, asked) as (
    select
        case
            when missing.day is null then true
            else error(
                asked || ' needs ' || missing.day::varchar || ', which the warehouse does not hold ('
                || incomplete_utc_day_reason(missing.day)
                || '); the last complete day is ' || last_complete_day_text()
            )
        end
    from (
        select min(date) as day from utc_days_status(first_day, last_day) where not is_complete
    ) as missing
);

-- The local days every local table has published, and the UTC days all of them were
-- computed from.
create or replace macro local_partitions() as table
select local_partition.date, local_partition.utc_days
from completeness_local_partitions as local_partition;

-- The organisations a local macro over [first_day, last_day] returns, or may once their
-- days are complete (those with an event on a UTC day the range's local days overlap), or
-- those of `organizations` when given, each with the zone of its latest such day.
create or replace macro local_range_organizations(first_day, last_day, organizations) as table
select zones.organization_id, arg_max(zones.timezone, zones.date) as timezone
from organization_timezones as zones
where zones.date between first_day::date - 1 and last_day::date + 1
  and (organizations is null or list_contains(organizations::uuid[], zones.organization_id))
group by zones.organization_id;

-- Each organisation's local days of [first_day, last_day] and whether each is complete: a
-- day before the first day always is; a later one when every local table published it
-- from each UTC day it overlaps, and each of those UTC days is complete.
create or replace macro local_days_status(first_day, last_day, organizations) as table
with zones as (
    select * from local_range_organizations(first_day, last_day, organizations)
),

needed as (
    select
        zones.organization_id,
        zones.timezone,
        days.day::date as date,
        unnest(local_day_utc_days(zones.timezone, days.day))::date as utc_day
    from zones
    cross join generate_series(first_day::date, last_day::date, interval 1 day) as days (day)
),

checked as (
    select
        needed.*,
        partitions.date is not null as published,
        before_first_day(needed.utc_day)
        or (
            complete.date is not null
            and coalesce(list_contains(partitions.utc_days, needed.utc_day::varchar), false)
        ) as utc_day_held
    from needed
    left join complete_utc_days() as complete on complete.date = needed.utc_day
    left join local_partitions() as partitions on partitions.date = needed.date
)

select
    organization_id,
    timezone,
    date,
    before_first_day(date) or (bool_and(published) and bool_and(utc_day_held)) as is_complete,
    min(utc_day) filter (where not utc_day_held) as missing_utc_day
from checked
group by organization_id, timezone, date;

-- The latest local day of the organisation such that it and every local day from the
-- first day to it are complete; NULL when its first local day is not.
create or replace macro last_complete_local_day(organization) as (
    with status as (
        select date, is_complete
        from local_days_status(
            warehouse_first_day(),
            coalesce((select max(date) from local_partitions()), warehouse_first_day()) + 1,
            [organization::uuid]
        )
    )

    select case when min(date) > warehouse_first_day() then min(date) - 1 end
    from status
    where not is_complete
);

-- True, or an error naming the first organisation and local day of the range that is not
-- complete, the UTC day it waits for, and the organisation's last complete local day.
create or replace macro require_complete_local_days(first_day, last_day, organizations, asked) as (
    select
        case
            when missing.date is null then true
            else error(
                asked || ' needs the local day ' || missing.date::varchar || ' of organisation '
                || missing.organization_id::varchar || ' (' || missing.timezone || '), which the '
                || 'warehouse does not hold complete (' || coalesce(
                    'it needs the UTC day ' || missing.utc_day::varchar || ', '
                    || incomplete_utc_day_reason(missing.utc_day),
                    'its local tables were not computed for it'
                ) || '); its last complete local day is '
                || coalesce(last_complete_local_day(missing.organization_id)::varchar, 'none yet')
            )
        end
    from (
        select
            min(date) as date,
            arg_min(organization_id, (date, organization_id)) as organization_id,
            arg_min(timezone, (date, organization_id)) as timezone,
            arg_min(missing_utc_day, (date, organization_id)) as utc_day
        from local_days_status(first_day, last_day, organizations)
        where not is_complete
    ) as missing
);

-- The guard of a range on either calendar. The calendar is a constant: the other
-- calendar's branch is an empty result DuckDB drops before running it (a CASE would run
-- both guards).
create or replace macro require_complete_days(first_day, last_day, calendar, organizations, asked) as (
    select bool_and(guard.complete)
    from (
        select require_complete_utc_days(first_day, last_day, asked) as complete
        where known_calendar(calendar) = 'utc'
        union all
        select require_complete_local_days(first_day, last_day, organizations, asked) as complete
        where known_calendar(calendar) = 'local'
    ) as guard
);
