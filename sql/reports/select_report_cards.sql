-- The headline cards of each report: its organisation's metrics over the trailing window
-- against the window before, as published in period_comparison.
select as_of_date, organization_id, metric, current_value, previous_value, change_pct
from period_comparison
where window_days = $window_days and as_of_date between $first_as_of and $last_as_of
order by as_of_date, organization_id, metric
