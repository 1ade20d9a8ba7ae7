-- The serving benchmark's traffic (bench/serving.py): the demo's generator
-- (sql/demo/seed_demo_events.sql) for `organizations` organisations instead of six.
-- events_per_day events a day for `days` UTC days from start_date: organisations of very
-- different size (the first holds about a fifth of the events at 40 organisations), 40
-- agents each (a few busy, many quiet), their own pools of users (larger in larger
-- organisations; who is active depends on the user, the weekday and the organisation's
-- day), most traffic around midday, every event type of the contract plus one it does not
-- know, tokens with the organisation's model (each priced in deploy/model_prices.csv),
-- responseTime on message.received, rating on message.rated, and about one row in a
-- hundred hostile (invalid property values, malformed properties, a missing organisation,
-- type or agent). Ids are md5 of names ('bench-organization-3', 'bench-agent-3-7'), so a
-- re-seed of the same days gives the same organisations, agents and users.
--
-- The rows are inserted day after day and, within a day, in time order (each event's
-- time is the inverse of the day's distribution at its own slot of the day, jittered
-- inside the slot), as a live table is appended: no CLUSTER needed. Run
-- `select setseed(...)` first to repeat the random draws.
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

type_slots as (
    -- drawing a random slot picks a type with its weight (a join on the slot: the demo's
    -- array of 1,000 type names, subscripted at every mention of event_type once PostgreSQL
    -- inlines the CTEs, made a million events take a minute)
    select row_number() over (order by event_type, copy)::int as type_slot, event_type
    from weights, generate_series(1, per_mille) as copy
),

directory as (
    select
        array(
            select md5('bench-organization-' || i)::uuid
            from generate_series(1, %(organizations)s) as i order by i
        ) as organizations,
        array(
            select md5('bench-agent-' || o || '-' || a)::uuid
            from generate_series(1, %(organizations)s) as o, generate_series(1, 40) as a
            order by o, a
        ) as agents,
        array(
            select md5('bench-workflow-' || o || '-' || w)::uuid
            from generate_series(1, %(organizations)s) as o, generate_series(1, 20) as w
            order by o, w
        ) as workflows,
        array['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'claude-3-5-haiku', 'demo-model']
            as models
),

pools as (
    -- users in the organisation (a floor of 100, then in proportion to its share of the
    -- events, which the draw below gives it), and its share of them active on an ordinary
    -- weekday (0.24 to 0.50, hashed from the organisation)
    select
        organization_slot,
        100 + round(8000 * (
            (organization_slot::double precision / %(organizations)s) ^ 0.4
            - ((organization_slot - 1)::double precision / %(organizations)s) ^ 0.4
        ))::int as pool_size,
        0.24 + 0.26 * ('x' || left(md5('bench-share-' || organization_slot), 7))::bit(28)::int
            / 268435456.0 as active_share
    from generate_series(1, %(organizations)s) as organization_slot
),

active_users as (
    -- each organisation's users active on each day, busiest users first (user_rank 1 is
    -- the most active): user i of a pool of n comes with a propensity that falls from 1
    -- to 0 with i / n (times the weekday's and the organisation-day's factor), compared
    -- with a uniform number hashed from both. Rows, not the demo's array per day: a join
    -- carrying the arrays spilled gigabytes at a million events.
    select
        day_index,
        organization_slot,
        row_number() over (partition by day_index, organization_slot order by i) as user_rank,
        md5('bench-user-' || organization_slot || '-' || i)::uuid as user_id
    from (
        select
            day_index,
            pools.*,
            %(start_date)s::date + day_index as day,
            0.85 + 0.3 * ('x' || left(md5(
                'bench-day-' || organization_slot || '-' || (%(start_date)s::date + day_index)
            ), 7))::bit(28)::int / 268435456.0 as day_factor
        from generate_series(0, %(days)s - 1) as day_index, pools
    ) as organization_days,
    generate_series(1, pool_size) as i
    where i = 1
        or ('x' || left(md5('bench-user-' || organization_slot || '-' || i || '-' || day), 7))
            ::bit(28)::int / 268435456.0
        < 3 * active_share * (1 - (i - 0.5) / pool_size) ^ 2 * day_factor
            * case when extract(isodow from day) in (6, 7) then 0.45 else 1 end
),

active_counts as (
    select day_index, organization_slot, count(*) as active_count
    from active_users
    group by day_index, organization_slot
),

draws as (
    -- one series, so the rows come day after day and in time order within the day
    select
        event_number / %(events_per_day)s as day_index,
        (event_number %% %(events_per_day)s + 1 - random()) / %(events_per_day)s as day_share,
        1 + floor(%(organizations)s * random() ^ 2.5)::int as organization_slot,
        floor(40 * random() ^ 3)::int as agent_rank,
        random() as user_draw,
        floor(20 * random() ^ 2)::int as workflow_rank,
        1 + floor(1000 * random())::int as type_slot,
        random() as value_draw,
        (random() + random() + random() + random() - 2) * sqrt(3) as normal_draw,
        random() as hostile_draw
    from generate_series(0, %(days)s::bigint * %(events_per_day)s - 1) as event_number
),

typed as (
    select
        draws.*,
        -- the demo's time of day, (random() + random()) * 43200, a triangle peaking at
        -- noon: its inverse distribution at the event's share of the day
        case
            when day_share < 0.5 then 86400 * sqrt(day_share / 2)
            else 86400 * (1 - sqrt((1 - day_share) / 2))
        end as second_of_day,
        type_slots.event_type,
        directory.organizations[draws.organization_slot] as organization_id,
        directory.agents[(draws.organization_slot - 1) * 40 + 1 + agent_rank] as agent_id,
        active_users.user_id,
        directory.workflows[(draws.organization_slot - 1) * 20 + 1 + workflow_rank]
            as workflow_id,
        directory.models[1 + draws.organization_slot %% 5] as model
    from draws
    cross join directory
    join type_slots using (type_slot)
    join active_counts
        on active_counts.day_index = draws.day_index
        and active_counts.organization_slot = draws.organization_slot
    join active_users
        on active_users.day_index = draws.day_index
        and active_users.organization_slot = draws.organization_slot
        and active_users.user_rank = 1 + floor(active_count * user_draw ^ 1.5)::int
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
                then jsonb_build_object('responseTime', 'fast', 'tokens', 80, 'model', model)
            when hostile_draw < 0.008 and event_type = 'message.rated'
                then jsonb_build_object('rating', 7)
            when event_type = 'message.sent'
                then jsonb_build_object(
                    'tokens', 20 + floor(300 * value_draw ^ 2), 'channel', 'web', 'model', model
                )
            when event_type = 'message.received'
                then jsonb_build_object(
                    'tokens', 40 + floor(900 * value_draw ^ 2),
                    'responseTime', round(exp(6.6 + 0.7 * normal_draw)),
                    'model', model
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
        when resource_type = 'document' then md5('bench-document-' || value_draw)::uuid
        when resource_type = 'user' then user_id
    end,
    properties,
    case when event_type like 'agent.%%' then null else user_id end,
    %(start_date)s::timestamp
        + make_interval(days => day_index::int)
        + make_interval(secs => least(second_of_day, 86399.999999))
from shaped
