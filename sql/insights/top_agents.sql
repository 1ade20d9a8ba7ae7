-- top_agents for every as-of date in [first_as_of, last_as_of]: the 10 leading agents of
-- each organisation over the trailing $window_days (30) days, in the contract's columns
-- (no cost).
select * exclude (total_cost_usd) from top_agents_ranked($first_as_of, $last_as_of, $window_days, 10)
