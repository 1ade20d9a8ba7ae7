-- Demo traffic: events_per_day events a day for `days` UTC days from start_date,
-- shaped like the real platform: six organisations of very different size, a few busy
-- agents and many quiet ones, most traffic around midday, every event type of the
-- contract plus one it does not know, and about one row in a hundred hostile (invalid
-- property values, malformed properties, a missing organisation, type or agent) so
-- that data_quality has something to count. Each organisation has its own pool of users;
-- who is active on a day depends on the user (a few come every day, most now and then),
-- the weekday (weekends are quieter) and the organisation's day (a little noise), so
-- daily unique users differ by organisation and day. Activity is a hash of the user and
-- the date, so a day gets the same users whichever run seeds it; the rest is random():
-- run `select setseed(...)` first to repeat.
with weights (event_type, per_mille) as (
    values
        ('message.sent', 280), ('message.received', 280), ('message.rated', 50),
        ('conversation.started', 80), ('conversation.ended', 70),
        ('agent.created', 4), ('agent.updated', 10), ('agent.deployed', 5),
        ('agent.error', 20), ('workflow.created', 5), ('workflow.executed', 50),
        ('workflow.completed', 43), ('workflow.failed', 7), ('user.logged_in', 40),
        ('user.invited', 5), ('user.joined', 5), ('document.uploaded', 12),
        ('document.deleted', 4), ('search.performed', 28), ('experiment.viewed', 2)
),

directory as (
    -- drawing a random slot of event_types picks a type with its weight
    select
        (select array_agg(event_type) from weights, generate_series(1, per_mille)) as event_types,
        array(select md5('demo-organization-' || i)::uuid from generate_series(1, 6) as i)
            as organizations,
        array(select md5('demo-agent-' || i)::uuid from generate_series(1, 6 * 40) as i) as agents,
        array(select md5('demo-workflow-' || i)::uuid from generate_series(1, 6 * 20) as i)
            as workflows
),

pools (organization_slot, pool_size, active_share) as (
    -- users in the organisation, and its share of them active on an ordinary weekday
    values (1, 1800, 0.30), (2, 700, 0.36), (3, 520, 0.24), (4, 300, 0.42), (5, 180, 0.30),
        (6, 110, 0.50)
),

active_users as (
    -- each organisation's users active on each day, busiest users first: user i of a pool
    -- of n comes with a propensity that falls from 1 to 0 with i / n (times the weekday's and
    -- the organisation-day's factor), compared with a uniform number hashed from both
    select
        day_index,
        organization_slot,
        array_agg(md5('demo-user-' || organization_slot || '-' || i)::uuid order by i) as users
    from (
        select
            day_index,
            pools.*,
            %(start_date)s::date + day_index as day,
            0.85 + 0.3 * ('x' || left(md5(
                'demo-day-' || organization_slot || '-' || (%(start_date)s::date + day_index)
            ), 7))::bit(28)::int / 268435456.0 as day_factor
        from generate_series(0, %(days)s - 1) as day_index, pools
    ) as organization_days,
    generate_series(1, pool_size) as i
    where i = 1
        or ('x' || left(md5('demo-user-' || organization_slot || '-' || i || '-' || day), 7))
            ::bit(28)::int / 268435456.0
        < 3 * active_share * (1 - (i - 0.5) / pool_size) ^ 2 * day_factor
            * case when extract(isodow from day) in (6, 7) then 0.45 else 1 end
    group by day_index, organization_slot
),

draws as (
    select
        day_index,
        1 + floor(6 * random() ^ 2.5)::int as organization_slot,
        floor(40 * random() ^ 3)::int as agent_rank,
        random() as user_draw,
        floor(20 * random() ^ 2)::int as workflow_rank,
        1 + floor(1000 * random())::int as type_slot,
        (random() + random()) * 43200 as second_of_day,
        random() as value_draw,
        (random() + random() + random() + random() - 2) * sqrt(3) as normal_draw,
        random() as hostile_draw
    from generate_series(0, %(days)s - 1) as day_index,
        generate_series(1, %(events_per_day)s)
),

typed as (
    select
        draws.*,
        directory.event_types[type_slot] as event_type,
        directory.organizations[organization_slot] as organization_id,
        directory.agents[(organization_slot - 1) * 40 + 1 + agent_rank] as agent_id,
        active_users.users[1 + floor(cardinality(active_users.users) * user_draw ^ 1.5)::int]
            as user_id,
        directory.workflows[(organization_slot - 1) * 20 + 1 + workflow_rank] as workflow_id
    from draws
    cross join directory
    join active_users using (day_index, organization_slot)
),

shaped as (
    select
        *,
        case split_part(event_type, '.', 1)
            when 'message' then 'agent'
            when 'conversation' then 'agent'
            when 'agent' then 'agent'
            when 'workflow' then 'workflow'
            when 'document' then 'document'
            when 'user' then 'user'
        end as resource_type,
        case
            when hostile_draw < 0.001 then '["not", "an", "object"]'::jsonb
            when hostile_draw < 0.002 then jsonb_build_object('tokens', '150')
            when hostile_draw < 0.003 then jsonb_build_object('tokens', -5)
            when hostile_draw < 0.0035 then jsonb_build_object('tokens', 12.5)
            when hostile_draw < 0.004 then jsonb_build_object('tokens', true)
            when hostile_draw < 0.006 and event_type = 'message.received'
                then jsonb_build_object('responseTime', 'fast', 'tokens', 80, 'model', 'demo-model')
            when hostile_draw < 0.008 and event_type = 'message.rated'
                then jsonb_build_object('rating', 7)
            when event_type = 'message.sent'
                then jsonb_build_object(
                    'tokens', 20 + floor(300 * value_draw ^ 2), 'channel', 'web',
                    'model', 'demo-model'
                )
            when event_type = 'message.received'
                then jsonb_build_object(
                    'tokens', 40 + floor(900 * value_draw ^ 2),
                    'responseTime', round(exp(6.6 + 0.7 * normal_draw)),
                    'model', 'demo-model'
                )
            when event_type = 'message.rated'
                then jsonb_build_object('rating', 5 - least(4, floor(5 * value_draw ^ 2)))
            when event_type = 'workflow.executed'
                then jsonb_build_object('tokens', 100 + floor(2000 * value_draw), 'model', 'gpt-4o-mini')
            when event_type = 'search.performed'
                then jsonb_build_object('results', floor(20 * value_draw))
            else jsonb_build_object()
        end as properties
    from typed
)

insert into {source_table}
    (id, organization_id, event_type, resource_type, resource_id, properties, user_id, created_at)
select
    gen_random_uuid(),
    case when hostile_draw between 0.990 and 0.993 then null else organization_id end,
    case when hostile_draw between 0.993 and 0.995 then null else event_type end,
    resource_type,
    case
        when resource_type = 'agent' and hostile_draw between 0.995 and 0.997 then null
        when resource_type = 'agent' then agent_id
        when resource_type = 'workflow' then workflow_id
        when resource_type = 'document' then md5('demo-document-' || value_draw)::uuid
        when resource_type = 'user' then user_id
    end,
    properties,
    case when event_type like 'agent.%%' then null else user_id end,
    %(start_date)s::timestamp
        + make_interval(days => day_index)
        + make_interval(secs => least(second_of_day, 86399.999999))
from shaped
