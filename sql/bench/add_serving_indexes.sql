-- After the serving benchmark's seed (bench/serving.py): the shipped DDL's primary key and
-- created_at index (sql/source/create_analytics_events.sql), and the index the platform's
-- users would add for the questions of one organisation over a range of days.
alter table {source_table} add constraint {primary_key} primary key (id);
create index if not exists {created_at_index} on {source_table} (created_at);
create index if not exists {organization_index} on {source_table} (organization_id, created_at);
