-- The events of one local day, so the daily SQL of the UTC tables runs unchanged over
-- them: `event_date` becomes each organisation's local calendar day. The raw events of
-- UTC days day-1 .. day+1 are `utc_events`; an organisation's zone is the one recorded on
-- the latest of those days (UTC when none). The day is a macro argument, never text.

-- Each organisation's zone of local day `day` and a cheap pre-filter on created_at: the
-- local day's UTC window, widened by 3 hours so that however ICU reads a local midnight
-- that a DST change skips or repeats, no event of the day falls outside it; the exact
-- test is the conversion in local_events.
create or replace temp macro local_zones(day) as table
with latest as (
    select organization_id, arg_max(timezone, date) as timezone
    from organization_timezones
    where date between day::date - 1 and day::date + 1
    group by organization_id
)

select
    organization_id,
    timezone,
    timezone('UTC', timezone(timezone, day::date::timestamp)) - interval 3 hour
        as window_start,
    timezone('UTC', timezone(timezone, (day::date + 1)::timestamp)) + interval 3 hour
        as window_end
from latest;

create or replace temp macro local_events(day) as table
with candidates as (
    select utc_events.*, coalesce(zones.timezone, 'UTC') as zone
    from utc_events
    left join local_zones(day) as zones on zones.organization_id = utc_events.organization_id
    where utc_events.created_at
        >= coalesce(zones.window_start, day::date - interval 3 hour)
      and utc_events.created_at
        < coalesce(zones.window_end, day::date + interval 27 hour)
      -- no zone is more than 14 hours from UTC: a constant window (with the 3 hours) that
      -- DuckDB checks against the files' row-group statistics, skipping most of the
      -- neighbouring days without reading them
      and utc_events.created_at >= day::date - interval 17 hour
      and utc_events.created_at < day::date + interval 41 hour
),

zoned as (
    select
        candidates.* exclude (event_date, zone),
        -- created_at is a UTC wall time: made an instant, then read on the zone's clock
        timezone(zone, timezone('UTC', created_at))::date as event_date
    from candidates
)

select * from zoned where event_date = day::date;

-- `events` for the twins' SQL (which reads it through priced_events): the local day set
-- by sql/timezones/set_local_day.sql, a bound parameter.
create or replace temp view events as select * from local_events(getvariable('local_day'));
