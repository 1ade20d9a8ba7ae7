"""Completeness (docs/contract.md, section 10): which days the warehouse holds, on the UTC
calendar and on each organisation's local calendar, and the macros that never read a day
they do not have as zero."""

import datetime as dt
import uuid

import duckdb
import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
LOS_ANGELES = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
KOLKATA = uuid.UUID("00000000-0000-4000-8000-0000000000b2")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


def message(day, organization_id=ORG, at="12:00", **fields):
    return {
        "organization_id": organization_id,
        "event_type": "message.sent",
        "resource_type": "agent",
        "resource_id": AGENT,
        "created_at": f"{day} {at}",
        **fields,
    }


def refusal(query, statement):
    with pytest.raises(duckdb.InvalidInputException) as raised:
        query(statement)
    return str(raised.value).removeprefix("Invalid Input Error: ")


def test_the_first_day_is_the_earliest_day_with_a_published_events_partition(
    source, run_pipeline, query
):
    source.insert(message("2025-03-03"))
    run_pipeline("2025-03-02", "2025-03-04")

    assert query("select warehouse_first_day()") == [(dt.date(2025, 3, 2),)]


def test_a_day_before_the_first_day_is_complete_and_empty(source, run_pipeline, query):
    source.insert(message("2025-03-01"), message("2025-03-02"))
    run_pipeline("2025-03-02")

    # 2025-03-01 has an event in the source, but lies before the warehouse's first day
    assert query(
        "select metric, current_value, previous_value from overview('2025-03-02', '2025-03-02')"
        " where metric = 'total_messages'"
    ) == [("total_messages", 1.0, 0.0)]
    assert query("select count(*) from usage_trends('2025-02-20', '2025-02-28')") == [(0,)]


def test_a_day_is_complete_once_every_daily_table_has_published_it(
    source, warehouse, run_pipeline, query
):
    source.insert(message("2025-03-01"), message("2025-03-02"))
    run_pipeline("2025-03-01", "2025-03-02")
    del warehouse.records["model_usage"][dt.date(2025, 3, 2)]

    assert query("select last_complete_day()") == [(dt.date(2025, 3, 1),)]
    assert "not every daily table is published for it" in refusal(
        query, "select * from usage_trends('2025-03-01', '2025-03-02')"
    )


def test_last_complete_day_is_the_last_of_the_complete_days_from_the_first_day_on(
    source, run_pipeline, query
):
    source.insert(message("2025-03-01"), message("2025-03-05"))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-05")  # 2025-03-03 is a gap

    assert query("select last_complete_day()") == [(dt.date(2025, 3, 2),)]


def test_last_complete_day_is_null_for_an_empty_warehouse(query):
    assert query("select last_complete_day(), warehouse_first_day()") == [(None, None)]


def test_a_range_with_a_gap_is_refused_naming_the_gap_and_the_last_complete_day(
    source, run_pipeline, query
):
    source.insert(message("2025-03-01"), message("2025-03-05"))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-05")

    assert refusal(query, "select * from usage_trends('2025-03-01', '2025-03-05')") == (
        "usage_trends(2025-03-01, 2025-03-05) needs 2025-03-03, which the warehouse does not "
        "hold (it was never materialised: a gap); the last complete day is 2025-03-02"
    )


def test_today_is_not_complete(source, run_pipeline, query):
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    source.insert(message(yesterday))
    run_pipeline(yesterday)

    sentence = refusal(query, "select * from overview(utc_today() - 6, utc_today())")
    assert f"needs {yesterday - dt.timedelta(days=13)}" not in sentence  # before the first day
    today = yesterday + dt.timedelta(days=1)
    assert f"needs {today}, which the warehouse does not hold (it is " in sentence
    assert "not over yet: today is" in sentence
    assert sentence.endswith(f"the last complete day is {yesterday}")


def test_a_future_day_is_not_complete(source, run_pipeline, query):
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    source.insert(message(yesterday))
    run_pipeline(yesterday)

    assert "not over yet" in refusal(
        query, "select * from event_counts_between(utc_today() + 2, utc_today() + 5)"
    )


def test_a_day_after_the_last_published_one_is_not_materialised_yet(source, run_pipeline, query):
    source.insert(message("2025-03-01"))
    run_pipeline("2025-03-01")

    assert "(it is not materialised yet)" in refusal(
        query, "select * from usage_trends('2025-03-01', '2025-03-02')"
    )


@pytest.mark.parametrize(
    "call",
    [
        "overview('2025-03-02', '2025-03-03')",
        "agent_analytics('00000000-0000-4000-8000-0000000000c1', '2025-03-02', '2025-03-03')",
        "top_agents_between('2025-03-02', '2025-03-03', 3)",
        "usage_trends('2025-03-02', '2025-03-03')",
        "event_counts_between('2025-03-02', '2025-03-03')",
        "event_counts_between('2025-03-02', '2025-03-03', calendar := 'local')",
        "overview_local('2025-03-02', '2025-03-03')",
        "usage_trends_local('2025-03-02', '2025-03-03')",
        "calendar_period_comparison('2025-03-03', '2025-03-03', 2, 'utc')",
        "period_comparison_between('2025-03-03', '2025-03-03', 2)",
        "agent_period_totals('2025-03-03', '2025-03-03', 2)",
        "top_agents_ranked('2025-03-03', '2025-03-03', 2, 5)",
        "response_time_summary('2025-03-03', '2025-03-03', 2, null)",
        "calendar_usage_trends('2025-03-02', '2025-03-03', 'utc')",
    ],
)
def test_every_period_macro_refuses_a_range_with_a_day_not_complete(
    source, run_pipeline, query, call
):
    source.insert(message("2025-03-01"), message("2025-03-02"))
    run_pipeline("2025-03-01", "2025-03-02")

    assert "needs " in refusal(query, f"select * from {call}")


def test_a_refusal_comes_even_when_the_range_holds_no_event(run_pipeline, query):
    run_pipeline("2025-03-01", "2025-03-02")

    assert "needs 2025-03-03" in refusal(
        query, "select * from event_counts_between('2025-03-02', '2025-03-03')"
    )


def test_overview_refuses_when_its_previous_period_is_not_complete(source, run_pipeline, query):
    source.insert(message("2025-03-01"), message("2025-03-10"))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-10")

    # the current period 2025-03-07..10 is complete, the previous 2025-03-03..06 is not
    assert query("select count(*) from usage_trends('2025-03-07', '2025-03-10')") == [(4,)]
    assert "needs 2025-03-03" in refusal(
        query, "select * from overview('2025-03-07', '2025-03-10')"
    )


def test_a_utc_organisations_local_day_is_complete_with_its_utc_day(source, run_pipeline, query):
    source.insert(message("2025-03-01"), message("2025-03-02"))
    run_pipeline("2025-03-01", "2025-03-02")

    assert query(f"select last_complete_local_day('{ORG}')") == [(dt.date(2025, 3, 2),)]
    assert query(
        "select date, total_messages from usage_trends_local('2025-03-01', '2025-03-02')"
    ) == [(dt.date(2025, 3, 1), 1), (dt.date(2025, 3, 2), 1)]


def test_a_los_angeles_local_day_waits_for_the_next_utc_day(source, run_pipeline, query):
    source.timezones = {LOS_ANGELES: "America/Los_Angeles"}
    source.insert(message("2025-03-01", LOS_ANGELES), message("2025-03-02", LOS_ANGELES))
    run_pipeline("2025-03-01", "2025-03-02")

    # local 2025-03-02 in Los Angeles (UTC-8) runs until 2025-03-03 08:00 UTC
    assert query(f"select last_complete_local_day('{LOS_ANGELES}')") == [(dt.date(2025, 3, 1),)]
    assert refusal(query, "select * from usage_trends_local('2025-03-02', '2025-03-02')") == (
        "usage_trends_local(2025-03-02, 2025-03-02) needs the local day 2025-03-02 of "
        f"organisation {LOS_ANGELES} (America/Los_Angeles), which the warehouse does not hold "
        "complete (it needs the UTC day 2025-03-03, it is not materialised yet); its last "
        "complete local day is 2025-03-01"
    )


def test_a_los_angeles_local_day_is_complete_once_recomputed_with_the_next_utc_day(
    source, run_pipeline, query
):
    source.timezones = {LOS_ANGELES: "America/Los_Angeles"}
    source.insert(message("2025-03-02", LOS_ANGELES))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-02", "2025-03-03")  # the daily schedule's late window

    assert query(f"select last_complete_local_day('{LOS_ANGELES}')") == [(dt.date(2025, 3, 2),)]


def test_a_local_day_computed_before_its_next_utc_day_stays_incomplete_until_recomputed(
    source, run_pipeline, query
):
    source.timezones = {LOS_ANGELES: "America/Los_Angeles"}
    source.insert(message("2025-03-02", LOS_ANGELES))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-03")  # UTC day 2025-03-03 alone: local 2025-03-02 is not recomputed

    assert query(f"select last_complete_local_day('{LOS_ANGELES}')") == [(dt.date(2025, 3, 1),)]


def test_a_kolkata_local_day_needs_the_utc_day_before(source, run_pipeline, query):
    source.timezones = {KOLKATA: "Asia/Kolkata"}
    source.insert(message("2025-03-01", KOLKATA), message("2025-03-05", KOLKATA))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-05")  # UTC 2025-03-03 is a gap

    # local 2025-03-04 in Kolkata (UTC+5:30) starts 2025-03-03 18:30 UTC
    assert refusal(query, "select * from overview_local('2025-03-04', '2025-03-05')").startswith(
        "overview_local(2025-03-04, 2025-03-05) needs the local day 2025-03-03 of organisation "
        f"{KOLKATA} (Asia/Kolkata)"
    )
    assert query(f"select last_complete_local_day('{KOLKATA}')") == [(dt.date(2025, 3, 2),)]


def test_a_local_macro_judges_only_the_organisations_it_returns(source, run_pipeline, query):
    source.timezones = {LOS_ANGELES: "America/Los_Angeles"}
    source.insert(message("2025-03-02"), message("2025-03-02", LOS_ANGELES))
    run_pipeline("2025-03-01", "2025-03-02")

    assert query(
        "select organization_id, date, total_messages from usage_trends_local("
        f"'2025-03-02', '2025-03-02', organizations := ['{ORG}'])"
    ) == [(ORG, dt.date(2025, 3, 2), 1)]


def test_period_comparison_is_materialised_only_for_windows_whose_periods_are_complete(
    source, run_pipeline, query
):
    source.insert(*(message(f"2025-03-{day:02}") for day in (1, 2, 4, 5, 6, 7, 8, 9, 10)))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-10")  # 2025-03-03 is a gap

    windows = query(
        "select as_of_date, list(distinct window_days order by window_days) from"
        " period_comparison group by all order by all"
    )
    # window 1 needs D-1 and D; window 7 needs D-13..D; window 30 needs D-59..D
    assert windows == [
        (dt.date(2025, 3, 1), [1, 7, 30]),
        (dt.date(2025, 3, 2), [1, 7, 30]),
        (dt.date(2025, 3, 5), [1]),
        (dt.date(2025, 3, 6), [1]),
        (dt.date(2025, 3, 7), [1]),
        (dt.date(2025, 3, 8), [1]),
        (dt.date(2025, 3, 9), [1]),
        (dt.date(2025, 3, 10), [1]),
    ]


def test_top_agents_is_materialised_only_for_complete_windows(source, run_pipeline, query):
    source.insert(message("2025-03-01"), message("2025-03-05"))
    run_pipeline("2025-03-01", "2025-03-02")
    run_pipeline("2025-03-04", "2025-03-05")

    assert query("select distinct as_of_date from top_agents order by all") == [
        (dt.date(2025, 3, 1),),
        (dt.date(2025, 3, 2),),
    ]


def test_metric_anomalies_scores_only_complete_days(source, warehouse, run_pipeline, query):
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=offset) for offset in range(16)]
    source.insert(*(message(day) for day in days[:15]), *[message(days[15])] * 20)
    warehouse.anomaly_threshold = 1.0
    run_pipeline(days[0], days[14])
    run_pipeline(days[15], steps={"events", "organization_timezones", "daily_tables"})
    del warehouse.records["model_usage"][days[15]]  # the day is not complete

    run_pipeline(days[15], steps={"monitors"})
    assert query("select count(*) from metric_anomalies where date = ?", [days[15]]) == [(0,)]

    run_pipeline(days[15])  # complete now: 20 messages against a baseline of 1 a day
    assert query("select metric from metric_anomalies where date = ?", [days[15]]) == [
        ("total_messages",)
    ]
