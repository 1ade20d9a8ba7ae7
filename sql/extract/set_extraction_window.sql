-- Binds the day's window for the rest of the transaction (is_local = true).
select
    set_config('analytics.window_start', $1, true) as window_start,
    set_config('analytics.window_end', $2, true) as window_end
