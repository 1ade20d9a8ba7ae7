-- Each report's cost coverage: the share of its organisation's valid tokens over the 30
-- UTC days ending on the report's last day that had a price (model_usage; NULL without
-- tokens). Kept apart from data quality: a model missing from the price list is the price
-- list's gap, not bad data.
with as_of_dates as (
    select generate_series::date as as_of_date
    from generate_series($first_as_of::date, $last_as_of::date, interval 1 day)
),

final as (
    select
        as_of_dates.as_of_date,
        usage.organization_id,
        sum(usage.total_tokens) as tokens,
        coalesce(sum(usage.total_tokens) filter (where usage.cost_usd is not null), 0)
            as priced_tokens
    from as_of_dates
    join model_usage as usage
        on usage.date between as_of_dates.as_of_date - $window_days + 1 and as_of_dates.as_of_date
    where among(usage.organization_id, $organizations)
    group by all
)

select *, priced_tokens / nullif(tokens, 0) as priced_share
from final
order by as_of_date, organization_id
