-- top_agents_between(start, end, n) from the raw lake's Parquet files in chDB
-- (bench/serving.py): each organisation's agents over the period ranked by messages, then
-- conversations, then the agent id's text (docs/contract.md, section 3), the first n.
select
    organization_id, rank, agent_id, message_count, conversation_count, total_tokens,
    avg_response_time, error_count, satisfaction_score, rating_count
from (
    select
        row_number() over (
            partition by organization_id
            order by message_count desc, conversation_count desc, agent_id asc
        ) as rank,
        *
    from (
        select
            organization_id,
            resource_id as agent_id,
            countIf(event_type in ('message.sent', 'message.received')) as message_count,
            countIf(event_type = 'conversation.started') as conversation_count,
            sum(ifNull(tokens, 0)) as total_tokens,
            avgOrNullIf(response_time_ms, event_type = 'message.received') as avg_response_time,
            countIf(event_type = 'agent.error') as error_count,
            avgOrNullIf(rating, event_type = 'message.rated') as satisfaction_score,
            countIf(rating is not null and event_type = 'message.rated') as rating_count
        from events
        where event_date between {start:Date32} and {end:Date32}
          and organization_id is not null
          and event_type is not null
          and resource_type = 'agent'
          and resource_id is not null
          and ({organization:String} = '' or organization_id = {organization:String})
        group by organization_id, agent_id
    )
)
where rank <= {n:UInt32}
order by organization_id, rank
