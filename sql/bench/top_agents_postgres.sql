-- top_agents_between(start, end, n) on the platform's own table (bench/serving.py's
-- PostgreSQL peer): each organisation's agents over the period ranked by messages, then
-- conversations, then the agent id's text (docs/contract.md, section 3), the first n,
-- with the contract's validity rules applied to properties (section 1).
with agent_events as (
    select
        organization_id, resource_id as agent_id, event_type,
        case
            when jsonb_typeof(properties -> 'tokens') = 'number'
                then (properties -> 'tokens')::numeric
        end as tokens_number,
        case
            when jsonb_typeof(properties -> 'responseTime') = 'number'
                then (properties -> 'responseTime')::double precision
        end as response_time_number,
        case
            when jsonb_typeof(properties -> 'rating') = 'number'
                then (properties -> 'rating')::double precision
        end as rating_number
    from {source_table}
    where created_at >= %(start_time)s and created_at < %(end_time)s
      and organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id is not null
      and (%(organization)s::text is null or organization_id = %(organization)s::uuid)
),

typed as (
    select
        *,
        case
            when tokens_number >= 0 and tokens_number = trunc(tokens_number)
                and tokens_number < 9223372036854775808
                then tokens_number::bigint
        end as tokens,
        case when response_time_number >= 0 then response_time_number end as response_time_ms,
        case when rating_number between 1 and 5 then rating_number end as rating
    from agent_events
),

totals as (
    select
        organization_id,
        agent_id,
        count(*) filter (where event_type in ('message.sent', 'message.received'))
            as message_count,
        count(*) filter (where event_type = 'conversation.started') as conversation_count,
        coalesce(sum(tokens), 0) as total_tokens,
        avg(response_time_ms) filter (where event_type = 'message.received')
            as avg_response_time,
        count(*) filter (where event_type = 'agent.error') as error_count,
        avg(rating) filter (where event_type = 'message.rated') as satisfaction_score,
        count(rating) filter (where event_type = 'message.rated') as rating_count
    from typed
    group by organization_id, agent_id
),

ranked as (
    select
        row_number() over (
            partition by organization_id
            order by message_count desc, conversation_count desc, agent_id::text asc
        ) as rank,
        *
    from totals
)

select
    organization_id, rank, agent_id, message_count, conversation_count, total_tokens,
    avg_response_time, error_count, satisfaction_score, rating_count
from ranked
where rank <= %(n)s
order by organization_id, rank
