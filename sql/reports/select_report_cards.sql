-- The headline cards of each report: its organisation's metrics over the trailing window
-- of its own local days against the window before, the cost beside the tokens
-- (calendar_period_comparison on the local calendar: period_comparison's metrics,
-- total_cost_usd, and the zone the days were computed in).
select as_of_date, organization_id, metric, current_value, previous_value, change_pct, timezone
from calendar_period_comparison($first_as_of, $last_as_of, $window_days, 'local')
order by as_of_date, organization_id, metric
