-- Rows with a negative value, per count column ($count_columns) of the audited rows
-- (NULL when there are none).
select count_if(columns(lambda c: list_contains($count_columns, c)) < 0)
from audited
