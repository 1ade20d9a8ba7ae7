-- The local day the `events` view of local_events.sql shows, bound as a parameter.
set variable local_day = $day::date
