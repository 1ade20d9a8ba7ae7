-- priced_events (metrics.md, section 8): the registered `events` with their model (a JSON
-- string properties.model, else NULL), the price of the model's row with the latest
-- effective_from on or before the event's UTC day, and cost_usd = tokens * price /
-- 1,000,000 (NULL without valid tokens or without a price).
create or replace temp view priced_events as
with modelled as (
    select
        *,
        case
            when json_type(properties, '$.model') = 'VARCHAR' then properties ->> '$.model'
        end as model
    from events
),

priced as (
    select modelled.*, model_prices.usd_per_million_tokens
    from modelled
    asof left join model_prices
        on modelled.model = model_prices.model
        -- the UTC day of created_at, also where event_date is an organisation's local day
        and modelled.created_at::date >= model_prices.effective_from
)

select *, tokens * usd_per_million_tokens / 1000000 as cost_usd from priced
