-- The platform's organisation time zones for the demo (docs/contract.md, section 7): the
-- demo's organisations 1 to 6 (md5('demo-organization-' || i)) get a zone west of UTC
-- with DST, one at +05:30, Lord Howe's half-hour DST, and a name no time zone database
-- knows (counted as invalid_timezone, its days in UTC); 5 and 6 are not listed (UTC).
create table if not exists {timezones_table} (
    organization_id uuid primary key,
    timezone text not null
);

insert into {timezones_table} (organization_id, timezone)
select md5('demo-organization-' || slot)::uuid, timezone
from (
    values
        (1, 'America/Los_Angeles'),
        (2, 'Asia/Kolkata'),
        (3, 'Australia/Lord_Howe'),
        (4, 'Mars/Olympus_Mons')
) as zones (slot, timezone)
on conflict (organization_id) do update set timezone = excluded.timezone;
