-- period_comparison for every as-of date in [first_as_of, last_as_of] and one window of
-- $window_days (1, 7 or 30, one query each): one pass over the compact daily layers, not
-- one query per as-of date.
select * from period_comparison_between($first_as_of, $last_as_of, $window_days)
