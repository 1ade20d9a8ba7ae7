-- The first line of the price file that breaks a rule (`checked_price_lines`), if any.
select line, problem, model, date_text, price_text, first_line, fields
from checked_price_lines
where problem is not null
order by line
limit 1
