-- The top agents table of each report: top_agents' ranking over the organisation's local
-- days, with each agent's cost.
select
    as_of_date, organization_id, rank, agent_id, message_count, conversation_count,
    total_tokens, total_cost_usd, avg_response_time, error_count, satisfaction_score,
    rating_count
from top_agents_ranked(
    $first_as_of, $last_as_of, $window_days, $top_agents, 'local', $organizations
)
order by as_of_date, organization_id, rank
