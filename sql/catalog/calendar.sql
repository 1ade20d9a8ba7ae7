-- The calendars the macros read (sql/catalog/macros.sql) and judge completeness on
-- (sql/catalog/completeness.sql): UTC days, or each organisation's local days.

-- Today's UTC date: partitions are UTC days, while current_date follows the session's
-- time zone (a shell in Kiritimati is already tomorrow).
create or replace macro utc_today() as (get_current_timestamp() at time zone 'UTC')::date;

-- The calendar argument, checked: 'utc' or 'local'.
create or replace macro known_calendar(calendar) as
    case
        when calendar in ('utc', 'local') then calendar
        else error('a calendar is ''utc'' or ''local'', got ' || coalesce(calendar::varchar, 'NULL'))
    end;

-- A daily table on one calendar: `table_name` itself for 'utc' (its rows in zone UTC), its
-- _local twin for 'local'. The calendar is a constant, so DuckDB folds the other branch
-- into an empty result and a macro reads only its own calendar's table.
create or replace macro on_calendar(table_name, calendar) as table
select *, 'UTC' as timezone
from query_table(table_name)
where known_calendar(calendar) = 'utc'
union all by name
select *
from query_table(table_name || '_local')
where known_calendar(calendar) = 'local';

-- The UTC days a local day of a zone overlaps: D alone at UTC+0, D and D+1 west of UTC,
-- D-1 and D east of it (on that day's offset, daylight saving included).
create or replace macro local_day_utc_days(zone, day) as
    list_transform(
        generate_series(
            timezone('UTC', timezone(zone, day::date::timestamp))::date,
            (timezone('UTC', timezone(zone, (day::date + 1)::timestamp)) - interval 1 microsecond)::date,
            interval 1 day
        ),
        lambda utc_day: utc_day::date
    );
