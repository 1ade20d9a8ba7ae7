-- Rows with a negative value, per count column ($count_columns) of the checked partitions
-- (NULL when the partitions hold no row).
select count_if(columns(lambda c: list_contains($count_columns, c)) < 0)
from read_parquet($files)
