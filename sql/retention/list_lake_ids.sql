-- The event ids of one lake partition ($path): the only rows a prune may delete.
select id from read_parquet($path) order by id
