-- Before the serving benchmark's seed (bench/serving.py): the shipped table's primary key
-- and created_at index are dropped, so that millions of rows are inserted without
-- maintaining a B-tree of random UUIDs row by row; add_serving_indexes.sql builds them
-- (and the organisation's index) once the rows are in.
alter table {source_table} drop constraint if exists {primary_key};
drop index if exists {created_at_index};
