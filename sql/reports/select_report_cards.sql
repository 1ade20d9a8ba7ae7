-- The headline cards of each report: its organisation's metrics over the trailing window
-- against the window before, the cost beside the tokens (calendar_period_comparison:
-- period_comparison's metrics and total_cost_usd).
select as_of_date, organization_id, metric, current_value, previous_value, change_pct, timezone
from calendar_period_comparison($first_as_of, $last_as_of, $window_days, 'utc')
order by as_of_date, organization_id, metric
