-- Types one day's raw events by the contract's validity rules (docs/contract.md, section 1).
-- Reads the Arrow stream registered as raw_events. A property is valid only when it is
-- a JSON number in range: strings, booleans, objects and fractional token counts are
-- NULL here (and counted by data_quality). properties that is not a JSON object has no
-- valid properties; properties keeps the source's JSON text (stored as text, see
-- warehouse/lakehouse.py).
with raw as (
    select * from raw_events
),

extracted_properties as (
    -- one parse of properties yields all three values (NULL when absent or not an object)
    select
        *,
        json_extract(properties, ['$.tokens', '$.responseTime', '$.rating']) as property_values
    from raw
),

numeric_properties as (
    select
        *,
        property_values[1] as tokens_json,
        json_type(property_values[1]) as tokens_type,
        case
            when json_type(property_values[2]) in ('UBIGINT', 'BIGINT', 'DOUBLE')
                then (property_values[2] ->> '$')::double
        end as response_time_number,
        case
            when json_type(property_values[3]) in ('UBIGINT', 'BIGINT', 'DOUBLE')
                then (property_values[3] ->> '$')::double
        end as rating_number,
        case
            when json_type(property_values[1]) = 'DOUBLE'
                then (property_values[1] ->> '$')::double
        end as tokens_double
    from extracted_properties
),

final as (
    select
        id::uuid as id,
        organization_id::uuid as organization_id,
        event_type::varchar as event_type,
        resource_type::varchar as resource_type,
        resource_id::uuid as resource_id,
        properties::varchar as properties,
        user_id::uuid as user_id,
        created_at::timestamp as created_at,
        created_at::date as event_date,
        case
            -- integers beyond BIGINT are not a plausible token count: invalid
            when tokens_type = 'UBIGINT' then try_cast(tokens_json ->> '$' as bigint)
            when tokens_double >= 0 and tokens_double = trunc(tokens_double)
                and tokens_double < 9.2e18 then tokens_double::bigint
        end as tokens,
        case when response_time_number >= 0 then response_time_number end as response_time_ms,
        case when rating_number between 1 and 5 then rating_number end as rating
    from numeric_properties
)

select * from final
