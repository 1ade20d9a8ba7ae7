-- period_comparison for every as-of date in [first_as_of, last_as_of]: one pass per
-- window over the compact daily layers, not one query per as-of date.
select * from period_comparison_between($first_as_of, $last_as_of, 1)
union all
select * from period_comparison_between($first_as_of, $last_as_of, 7)
union all
select * from period_comparison_between($first_as_of, $last_as_of, 30)
