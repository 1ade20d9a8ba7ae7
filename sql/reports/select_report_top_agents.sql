-- The top agents table of each report, as published in top_agents.
select
    as_of_date, organization_id, rank, agent_id, message_count, conversation_count,
    total_tokens, avg_response_time, error_count, satisfaction_score, rating_count
from top_agents
where window_days = $window_days and as_of_date between $first_as_of and $last_as_of
order by as_of_date, organization_id, rank
