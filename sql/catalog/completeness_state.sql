-- What the completeness macros read (sql/catalog/completeness.sql), derived from
-- `published_partitions` whenever it changes: when analytics.duckdb is published, and in
-- each pipeline connection once its partitions are registered. Computed once here, so a
-- macro's guard is a lookup in a few small tables, not a query over every partition.
-- `{scope}` is `temp` in a connection (shadowing the empty state of its database) and
-- empty in analytics.duckdb.

-- Every UTC day from the first day on that every daily table has published.
create or replace {scope} table completeness_complete_days as
select date
from published_partitions
where list_contains(daily_table_names(), table_name)
  and date >= (select min(date) from published_partitions where table_name = 'events')
group by date
having count(distinct table_name) = len(daily_table_names());

-- The UTC days with a published events partition.
create or replace {scope} table completeness_events_days as
select date from published_partitions where table_name = 'events';

-- The local days every local table has published, and the UTC days all of them were
-- computed from (a local day is computed from the UTC days D-1, D and D+1 the lake held).
create or replace {scope} table completeness_local_partitions as
select
    date,
    list_reduce(
        list(string_split(record ->> 'utc_days', ',')),
        lambda days, other: list_intersect(days, other)
    ) as utc_days
from published_partitions
where list_contains(local_table_names(), table_name)
group by date
having count(distinct table_name) = len(local_table_names());

-- The warehouse's first day (the earliest UTC day with a published events partition), its
-- last published events day, and its last complete day: the latest UTC day such that it
-- and every day from the first day to it are complete (NULL when the first day is not).
create or replace {scope} table completeness_summary as
with bounds as (
    select
        min(date) filter (where table_name = 'events') as first_day,
        max(date) filter (where table_name = 'events') as last_events_day
    from published_partitions
),

first_gap as (
    select min(days.day)::date as day
    from bounds,
        generate_series(
            bounds.first_day,
            (select max(date) from completeness_complete_days) + 1,
            interval 1 day
        ) as days (day)
    where days.day::date not in (select date from completeness_complete_days)
)

select
    bounds.first_day,
    bounds.last_events_day,
    case when first_gap.day > bounds.first_day then first_gap.day - 1 end as last_complete_day
from bounds, first_gap;
