-- The platform's event table (docs/contract.md, section 1) and the index the daily
-- extraction needs: every run reads one half-open created_at window.
create table if not exists {source_table} (
    id uuid primary key,
    organization_id uuid,
    event_type varchar(100),
    resource_type varchar(50),
    resource_id uuid,
    properties jsonb,
    user_id uuid,
    created_at timestamp not null
);

create index if not exists {created_at_index} on {source_table} (created_at);
