-- The price list of a file that breaks no rule (`checked_price_lines`), as model_prices.
select model, effective_from, usd_per_million_tokens
from checked_price_lines
order by model, effective_from
