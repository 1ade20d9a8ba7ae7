-- metric_anomalies for one UTC day $day (docs/contract.md, section 9), over the daily_metrics
-- rows of $day - 28 .. $day: each organisation's metrics of the day scored against its
-- previous 28 days with a row (NULL values skipped, at least 14 values), kept when
-- |score| >= $threshold.
with metric_values as (
    select organization_id, date, 'total_messages' as metric, total_messages::double as value
    from daily_metrics
    union all
    select organization_id, date, 'error_count', error_count::double
    from daily_metrics
    union all
    select organization_id, date, 'error_rate', error_count / nullif(event_count, 0)::double
    from daily_metrics
    union all
    select organization_id, date, 'p95_response_time', p95_response_time
    from daily_metrics
    union all
    select organization_id, date, 'total_tokens', total_tokens::double
    from daily_metrics
    union all
    select organization_id, date, 'total_cost_usd', total_cost_usd
    from daily_metrics
),

baseline as (
    select organization_id, metric, value
    from metric_values
    where date between $day::date - 28 and $day::date - 1 and value is not null
),

medians as (
    select organization_id, metric, quantile_cont(value, 0.5) as median
    from baseline
    group by organization_id, metric
    having count(*) >= 14
),

deviations as (
    select
        medians.organization_id,
        medians.metric,
        any_value(medians.median) as median,
        quantile_cont(abs(baseline.value - medians.median), 0.5) as mad,
        avg(abs(baseline.value - medians.median)) as mean_ad
    from medians
    inner join baseline using (organization_id, metric)
    group by medians.organization_id, medians.metric
),

scored as (
    select
        today.organization_id,
        today.date,
        today.metric,
        today.value,
        deviations.median,
        deviations.mad,
        case
            when deviations.mad > 0
                then (today.value - deviations.median) / (1.4826 * deviations.mad)
            when deviations.mean_ad > 0
                then (today.value - deviations.median) / (1.2533 * deviations.mean_ad)
            when today.value = deviations.median then 0
            when today.value > deviations.median then 'infinity'::double
            else '-infinity'::double
        end as score
    from metric_values as today
    inner join deviations using (organization_id, metric)
    where today.date = $day and today.value is not null
),

final as (
    select
        organization_id,
        date,
        metric,
        value,
        median,
        mad,
        score,
        case when score > 0 then 'up' else 'down' end as direction
    from scored
    where abs(score) >= $threshold
)

select * from final order by organization_id, metric
