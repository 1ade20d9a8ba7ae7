-- Counted events per type over each report's window of local days: event_counts_between
-- on the local calendar, for every as-of date at once.
with as_of_dates as (
    select generate_series::date as as_of_date
    from generate_series($first_as_of::date, $last_as_of::date, interval 1 day)
),

final as (
    select as_of_dates.as_of_date, mix.organization_id, mix.event_type, mix.event_count
    from as_of_dates,
        lateral event_counts_between(
            as_of_dates.as_of_date - $window_days + 1, as_of_dates.as_of_date,
            calendar := 'local', organizations := $organizations
        ) as mix
)

select * from final order by as_of_date, organization_id, event_count desc, event_type
