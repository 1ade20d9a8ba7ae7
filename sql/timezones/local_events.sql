-- The events of one local day {day} as a view named `events`, so the daily SQL of the UTC
-- tables runs unchanged over it: `event_date` becomes each organisation's local calendar
-- day. The raw events of UTC days {day}-1 .. {day}+1 are `utc_events`; an organisation's
-- zone is the one recorded on the latest of those days (UTC when none).
create temp view local_zones as
with latest as (
    select organization_id, arg_max(timezone, date) as timezone
    from organization_timezones
    where date between date '{day}' - 1 and date '{day}' + 1
    group by organization_id
)

-- A cheap pre-filter on created_at: the local day's UTC window, widened by 3 hours so
-- that however ICU reads a local midnight that a DST change skips or repeats, no event
-- of the day falls outside it; the exact test is the conversion below.
select
    organization_id,
    timezone,
    timezone('UTC', timezone(timezone, date '{day}'::timestamp)) - interval 3 hour
        as window_start,
    timezone('UTC', timezone(timezone, (date '{day}' + 1)::timestamp)) + interval 3 hour
        as window_end
from latest;

create temp view events as
with candidates as (
    select utc_events.*, coalesce(zones.timezone, 'UTC') as zone
    from utc_events
    left join local_zones as zones on zones.organization_id = utc_events.organization_id
    where utc_events.created_at
        >= coalesce(zones.window_start, date '{day}' - interval 3 hour)
      and utc_events.created_at
        < coalesce(zones.window_end, date '{day}' + interval 27 hour)
),

zoned as (
    select
        candidates.* exclude (event_date, zone),
        -- created_at is a UTC wall time: made an instant, then read on the zone's clock
        timezone(zone, timezone('UTC', created_at))::date as event_date
    from candidates
)

select * from zoned where event_date = date '{day}';
