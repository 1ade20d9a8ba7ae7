-- top_agents_between(start, end, n) from the raw lake (bench/serving.py's DuckDB peer):
-- each organisation's agents over the period ranked by messages, then conversations, then
-- the agent id's text (docs/contract.md, section 3), the first n kept, from the typed
-- `events` view.
with agent_events as (
    select organization_id, resource_id as agent_id, event_type, tokens, response_time_ms, rating
    from events
    where event_date between $start and $end
      and organization_id is not null
      and event_type is not null
      and resource_type = 'agent'
      and resource_id is not null
      and ($organization is null or organization_id = $organization)
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
    from agent_events
    group by organization_id, agent_id
),

ranked as (
    select
        row_number() over (
            partition by organization_id
            order by message_count desc, conversation_count desc, agent_id::varchar asc
        ) as rank,
        *
    from totals
)

select
    organization_id, rank, agent_id, message_count, conversation_count, total_tokens,
    avg_response_time, error_count, satisfaction_score, rating_count
from ranked
where rank <= $n
order by organization_id, rank
