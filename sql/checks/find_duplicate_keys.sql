-- Keys that occur more than once in the audited rows, with a sample of
-- up to five of them; NULL key values compare equal, as they do in a GROUP BY.
with keyed as (
    select columns(lambda c: list_contains($key_columns, c)) from audited
),

duplicates as (
    select *, count(*) as copies
    from keyed
    group by all
    having count(*) > 1
),

final as (
    select
        count(*) as duplicate_keys,
        coalesce(sum(copies), 0) as duplicate_rows,
        (
            select coalesce(list(to_json(sample) order by copies desc), [])
            from (select * from duplicates order by copies desc limit 5) as sample
        ) as sample
    from duplicates
)

select * from final
