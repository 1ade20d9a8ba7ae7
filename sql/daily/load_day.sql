-- One read of the day: the registered `events`, with their prices
-- (sql/costs/priced_events.sql), copied into DuckDB once. Every table of the day then
-- reads this copy through `events` and `priced_events` instead of the lake's files (or,
-- for a local day, the three UTC days behind it) again. DuckDB spills the copy to its
-- temporary folder when it outgrows the memory limit.
create or replace temp table day_events as select * from priced_events;

create or replace temp view priced_events as select * from day_events;

create or replace temp view events as
select * exclude (model, usd_per_million_tokens, cost_usd) from day_events;
