-- Validity issues over each report's window, platform-wide: data_quality has no
-- organisation, since an event missing its organisation belongs to none. Cost coverage
-- (unpriced_tokens) is a line of its own (select_report_cost_coverage.sql).
with as_of_dates as (
    select generate_series::date as as_of_date
    from generate_series($first_as_of::date, $last_as_of::date, interval 1 day)
),

final as (
    select as_of_dates.as_of_date, quality.issue, sum(quality.count)::bigint as event_count
    from as_of_dates
    join data_quality as quality
        on quality.date between as_of_dates.as_of_date - $window_days + 1 and as_of_dates.as_of_date
    where quality.issue <> 'unpriced_tokens'
    group by all
)

select * from final order by as_of_date, event_count desc, issue
