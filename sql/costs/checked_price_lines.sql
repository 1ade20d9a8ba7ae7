-- The price file's lines checked by its rules (warehouse/costs.py): over the registered
-- `price_lines` (line, model, effective_from, usd_per_million_tokens: the text of each
-- field, trimmed) and `miscounted_lines` (line, fields: the lines whose number of fields
-- is not the header's), every line with its typed values and the first rule it breaks,
-- NULL when none. The rules in their order: the header's number of fields, a model, a
-- date as YYYY-MM-DD, a price that is a finite number and not negative, and no earlier
-- line with the same model and date.
create or replace temp view checked_price_lines as
with typed as (
    select
        line,
        model,
        effective_from as date_text,
        usd_per_million_tokens as price_text,
        case
            -- DuckDB reads the year 0000 as 1 BC, a year Python's dates do not have
            when
                regexp_full_match(effective_from, '\d{4}-\d{2}-\d{2}')
                and try_cast(effective_from as date) >= date '0001-01-01'
                then try_cast(effective_from as date)
        end as effective_from,
        try_cast(usd_per_million_tokens as double) as usd_per_million_tokens
    from price_lines
),

numbered as (
    select
        *,
        min(line) over (partition by model, effective_from) as first_line
    from typed
)

select
    *,
    case
        when model = '' then 'model'
        when effective_from is null then 'date'
        when usd_per_million_tokens is null or not isfinite(usd_per_million_tokens) then 'price'
        when usd_per_million_tokens < 0 then 'negative'
        when first_line < line then 'repeat'
    end as problem
from numbered
union all by name
select
    line,
    fields,
    'fields' as problem
from miscounted_lines
