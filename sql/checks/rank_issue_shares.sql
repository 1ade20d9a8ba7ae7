-- Each (date, validity issue) of the published data_quality days with the share of that
-- day's extracted events raising it, largest first (both read through the lakehouse
-- views). Cost coverage (unpriced_tokens) has a check of its own (rank_priced_shares.sql),
-- and invalid_timezone counts organisations, not events.
with issues as (
    select date, issue, count
    from data_quality
    where issue not in ('unpriced_tokens', 'invalid_timezone')
),

extracted as (
    select event_date as date, count(*) as events
    from events
    group by all
),

final as (
    select
        issues.date,
        issues.issue,
        issues.count,
        extracted.events,
        issues.count / extracted.events as share
    from issues
    inner join extracted on issues.date = extracted.date
)

select * from final order by share desc, date, issue
