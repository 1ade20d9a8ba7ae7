-- The zone of every organisation with an event on one UTC day (docs/contract.md, section 7):
-- the name the platform's table gives (NULL when the organisation is not in it) and the
-- zone its days are computed in (the name when known, else UTC).
with organizations as (
    select distinct organization_id
    from events
    where event_date = $day and organization_id is not null
),

final as (
    select
        organizations.organization_id,
        $day::date as date,
        configured.configured_timezone,
        coalesce(configured.timezone, 'UTC') as timezone
    from organizations
    left join configured_zones as configured
        on configured.organization_id::uuid = organizations.organization_id
)

select * from final order by organization_id
