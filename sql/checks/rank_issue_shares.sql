-- Each (date, issue) of the checked data_quality partitions ($files) with the share of
-- that day's extracted events ($events_files) raising it, largest first.
with issues as (
    select date, issue, count from read_parquet($files)
),

events as (
    select event_date as date, count(*) as events
    from read_parquet($events_files)
    group by all
),

final as (
    select
        issues.date,
        issues.issue,
        issues.count,
        events.events,
        issues.count / events.events as share
    from issues
    inner join events on issues.date = events.date
)

select * from final order by share desc, date, issue
