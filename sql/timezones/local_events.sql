-- The events of one local day {day} as a view named `events`, so the daily SQL of the UTC
-- tables runs unchanged over it: `event_date` becomes each organisation's local calendar
-- day. The raw events of UTC days {day}-1 .. {day}+1 are `utc_events`; an organisation's
-- zone is the one recorded on the latest of those days (UTC when none).
create temp view local_zones as
select organization_id, arg_max(timezone, date) as timezone
from organization_timezones
where date between date '{day}' - 1 and date '{day}' + 1
group by organization_id;

create temp view events as
with zoned as (
    select
        utc_events.* exclude (event_date),
        -- created_at is a UTC wall time: made an instant, then read on the zone's clock
        timezone(
            coalesce(zones.timezone, 'UTC'), timezone('UTC', utc_events.created_at)
        )::date as event_date
    from utc_events
    left join local_zones as zones on zones.organization_id = utc_events.organization_id
)

select * from zoned where event_date = date '{day}';
