-- Each organisation's anomalies (metric_anomalies, by UTC day) within each report's
-- window, the newest day first, the strongest score first within a day.
with as_of_dates as (
    select generate_series::date as as_of_date
    from generate_series($first_as_of::date, $last_as_of::date, interval 1 day)
),

final as (
    select
        as_of_dates.as_of_date, anomaly.organization_id, anomaly.date, anomaly.metric,
        anomaly.value, anomaly.median, anomaly.score, anomaly.direction
    from as_of_dates
    join metric_anomalies as anomaly
        on anomaly.date between as_of_dates.as_of_date - $window_days + 1 and as_of_dates.as_of_date
    where among(anomaly.organization_id, $organizations)
)

select * from final order by as_of_date, organization_id, date desc, abs(score) desc, metric
