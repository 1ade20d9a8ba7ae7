-- priced_events (docs/contract.md, section 8): the registered `events` with their model (a JSON
-- string properties.model, else NULL), the price of the model's row with the latest
-- effective_from on or before the event's UTC day, and cost_usd = tokens * price /
-- 1,000,000 (NULL without valid tokens or without a price).
--
-- Each price row holds from its effective_from until the model's next one: an equality
-- join on the model with that range costs half of an ASOF join, which sorts the whole day
-- (a 1M-event day: 0.25 s against 0.55 s). Two rows of one model and day (the price file
-- refuses them) could not duplicate an event: the first would hold for no day.
create or replace temp view priced_events as
with modelled as (
    select
        *,
        case
            when json_type(properties, '$.model') = 'VARCHAR' then properties ->> '$.model'
        end as model
    from events
),

price_periods as (
    select
        model,
        usd_per_million_tokens,
        effective_from,
        lead(effective_from) over (partition by model order by effective_from) as effective_until
    from model_prices
),

priced as (
    select modelled.*, price_periods.usd_per_million_tokens
    from modelled
    left join price_periods
        on modelled.model = price_periods.model
        -- the UTC day of created_at, also where event_date is an organisation's local day
        and modelled.created_at::date >= price_periods.effective_from
        and (
            price_periods.effective_until is null
            or modelled.created_at::date < price_periods.effective_until
        )
)

select *, tokens * usd_per_million_tokens / 1000000 as cost_usd from priced
