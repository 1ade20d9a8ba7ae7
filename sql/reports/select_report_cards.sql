-- The headline cards of each report: its organisation's metrics over the trailing window
-- of its own local days against the window before, the cost beside the tokens
-- (calendar_period_comparison on the local calendar: period_comparison's metrics,
-- total_cost_usd, and the zone the days were computed in). `comparable`: whether the
-- window before lies inside the warehouse (its first local day overlaps no UTC day before
-- the first day), so that a change is never computed against a shorter period.
select
    as_of_date, organization_id, metric, current_value, previous_value, change_pct, timezone,
    local_day_utc_days(timezone, as_of_date - 2 * $window_days + 1)[1]::date
        >= warehouse_first_day() as comparable
from calendar_period_comparison(
    $first_as_of, $last_as_of, $window_days, 'local', $organizations
)
order by as_of_date, organization_id, metric
