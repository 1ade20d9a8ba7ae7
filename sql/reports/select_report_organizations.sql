-- The organisations the reports of [first_as_of, last_as_of] show, those with a local day in
-- the window of a report date or the window before it, and each one's last complete local
-- day: a report covers an organisation's latest complete window (docs/contract.md,
-- section 10), which for a zone west of UTC ends a day before the report's date until the
-- next UTC day is in.
with organizations as (
    select distinct organization_id
    from daily_metrics_local
    where date between $first_as_of::date - 2 * $window_days + 1 and $last_as_of::date
)

select organization_id, last_complete_local_day(organization_id) as last_complete_day
from organizations
order by organization_id
