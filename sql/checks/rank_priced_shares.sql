-- Cost coverage: each published model_usage day's share of valid tokens that had a price
-- (over counted events; the data_quality issue unpriced_tokens counts every event), lowest first.
with days as (
    select
        date,
        sum(total_tokens) as tokens,
        coalesce(sum(total_tokens) filter (where cost_usd is not null), 0) as priced_tokens
    from model_usage
    group by date
),

final as (
    select date, tokens, priced_tokens, priced_tokens / tokens as share
    from days
    where tokens > 0
)

select * from final order by share, date
