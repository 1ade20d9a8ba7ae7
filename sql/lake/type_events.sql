-- Types one day's raw events by the contract's validity rules (metrics.md, section 1).
-- Reads the Arrow stream registered as raw_events. A property is valid only when it is
-- a JSON number in range: strings, booleans, objects and fractional token counts are
-- NULL here (and counted by data_quality). properties that is not a JSON object has no
-- valid properties; properties keeps the source's JSON text.
with raw as (
    select * from raw_events
),

numeric_properties as (
    select
        *,
        json_type(properties) = 'OBJECT' as properties_is_object,
        json_type(properties, '$.tokens') as tokens_type,
        case
            when json_type(properties, '$.responseTime') in ('UBIGINT', 'BIGINT', 'DOUBLE')
                then (properties ->> '$.responseTime')::double
        end as response_time_number,
        case
            when json_type(properties, '$.rating') in ('UBIGINT', 'BIGINT', 'DOUBLE')
                then (properties ->> '$.rating')::double
        end as rating_number,
        case
            when json_type(properties, '$.tokens') = 'DOUBLE'
                then (properties ->> '$.tokens')::double
        end as tokens_double
    from raw
),

final as (
    select
        id::uuid as id,
        organization_id::uuid as organization_id,
        event_type::varchar as event_type,
        resource_type::varchar as resource_type,
        resource_id::uuid as resource_id,
        properties::json as properties,
        user_id::uuid as user_id,
        created_at::timestamp as created_at,
        created_at::date as event_date,
        case
            -- integers beyond BIGINT are not a plausible token count: invalid
            when tokens_type = 'UBIGINT' then try_cast(properties ->> '$.tokens' as bigint)
            when tokens_double >= 0 and tokens_double = trunc(tokens_double)
                and tokens_double < 9.2e18 then tokens_double::bigint
        end as tokens,
        case when response_time_number >= 0 then response_time_number end as response_time_ms,
        case when rating_number between 1 and 5 then rating_number end as rating
    from numeric_properties
)

select * from final
