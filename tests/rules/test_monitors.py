"""Monitors (docs/contract.md, section 9): the anomaly scores of `metric_anomalies` and
their threshold.

The scores are tests of `sql/monitors/metric_anomalies.sql` (through `score_day`, as the
asset calls it) over hand-built daily_metrics rows, every day of which is published
complete. The alerts, posted to a real webhook through Dagster, are tested end to end in
`tests/e2e/test_monitors.py`.
"""

import datetime as dt
import math
import os
import uuid

import pyarrow as pa
import pytest

from pipelines.configuration import load_configuration
from warehouse.monitors import score_day
from warehouse.settings import ConfigurationError
from warehouse.tables import DAILY_METRICS, DAILY_TABLES, EVENTS
from warehouse.views import (
    PARTITIONS_SCHEMA,
    PARTITIONS_TABLE,
    analytics_connection,
    refresh_completeness,
)

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")
DAY = dt.date(2025, 3, 29)
STEADY = {
    "total_messages": 100,
    "error_count": 0,
    "event_count": 100,
    "p95_response_time": 500.0,
    "total_tokens": 1000,
    "total_cost_usd": 0.5,
}


def days_before(day, count):
    """The `count` days just before `day`, oldest first."""
    return [day - dt.timedelta(days=offset) for offset in range(count, 0, -1)]


def metrics_row(day, organization_id=ORG, **values):
    """A daily_metrics row with the steady values, overridden by `values`."""
    row = {column: None for column in DAILY_METRICS.column_names}
    row.update(STEADY, organization_id=organization_id, date=day, **values)
    return row


def anomalies(rows, threshold=4.0):
    """metric_anomalies of DAY over the hand-built daily_metrics rows, every day of which is
    complete; organisations read back as UUIDs (the tables store them as text)."""
    with analytics_connection() as connection:
        frame = pa.Table.from_pylist(
            [{**row, "organization_id": str(row["organization_id"])} for row in rows]
        )
        connection.register("daily_metrics", frame)
        # the raw events and each daily table published every day of the rows
        published = [
            {"table_name": spec.name, "date": row["date"], "record": "{}"}
            for spec in (EVENTS, *DAILY_TABLES)
            for row in rows
        ]
        connection.register(PARTITIONS_TABLE, pa.Table.from_pylist(published, PARTITIONS_SCHEMA))
        refresh_completeness(connection)
        scored = score_day(connection, DAY, threshold).to_pylist()
    return [{**row, "organization_id": uuid.UUID(row["organization_id"])} for row in scored]


def series(values, metric="total_messages", day=DAY):
    """The 28 baseline days with `values` of `metric` (oldest first) and DAY's value last."""
    *baseline, today = values
    days = [*days_before(day, len(baseline)), day]
    return [
        metrics_row(each_day, **{metric: value})
        for each_day, value in zip(days, [*baseline, today], strict=True)
    ]


def test_the_score_is_the_distance_from_the_median_in_median_absolute_deviations():
    # baseline: 14 days of 100 and 14 of 110 -> median 105, every deviation 5, MAD 5
    rows = series([100, 110] * 14 + [200])

    [anomaly] = anomalies(rows)

    assert anomaly["organization_id"] == ORG
    assert anomaly["date"] == DAY
    assert anomaly["metric"] == "total_messages"
    assert (anomaly["value"], anomaly["median"], anomaly["mad"]) == (200, 105, 5)
    assert anomaly["score"] == pytest.approx(95 / (1.4826 * 5))  # 12.8
    assert anomaly["direction"] == "up"


def test_a_drop_is_an_anomaly_down():
    [anomaly] = anomalies(series([100, 110] * 14 + [50]))
    assert anomaly["score"] == pytest.approx(-55 / (1.4826 * 5))
    assert anomaly["direction"] == "down"


def test_a_score_below_the_threshold_is_not_an_anomaly():
    # 120 is 15 from the median: 15 / (1.4826 * 5) = 2.02
    assert anomalies(series([100, 110] * 14 + [120])) == []
    assert [row["metric"] for row in anomalies(series([100, 110] * 14 + [120]), 2.0)] == [
        "total_messages"
    ]


def test_with_a_mad_of_zero_the_mean_absolute_deviation_replaces_it():
    # 20 days of 100 and 8 of 107: median 100, MAD 0, mean absolute deviation 8 * 7 / 28 = 2
    [anomaly] = anomalies(series([100] * 20 + [107] * 8 + [120]))

    assert (anomaly["median"], anomaly["mad"]) == (100, 0)
    assert anomaly["score"] == pytest.approx(20 / (1.2533 * 2))  # 7.98


def test_a_constant_baseline_scores_any_change_as_infinite_and_no_change_as_zero():
    rows = [
        *series([1000] * 28 + [1001], metric="total_tokens"),
        *(
            {**row, "organization_id": OTHER_ORG}
            for row in series([1000] * 28 + [999], metric="total_tokens")
        ),
    ]

    found = {(row["organization_id"], row["metric"]): row for row in anomalies(rows)}

    # every other metric is constant and unchanged: score 0, no row
    assert sorted(found) == [(ORG, "total_tokens"), (OTHER_ORG, "total_tokens")]
    assert found[(ORG, "total_tokens")]["score"] == math.inf
    assert found[(ORG, "total_tokens")]["direction"] == "up"
    assert found[(OTHER_ORG, "total_tokens")]["score"] == -math.inf
    assert found[(OTHER_ORG, "total_tokens")]["direction"] == "down"
    assert found[(ORG, "total_tokens")]["mad"] == 0


def test_fewer_than_14_baseline_values_score_nothing():
    silent_days = days_before(DAY, 28)[::2]  # 14 days with a row, 14 silent days
    baseline = [metrics_row(day) for day in silent_days]
    jump = metrics_row(DAY, total_messages=500)

    assert [row["metric"] for row in anomalies([*baseline, jump])] == ["total_messages"]
    # one day less (silent days are not zeros), or one NULL value, and nothing is scored
    assert anomalies([*baseline[1:], jump]) == []
    with_null = [metrics_row(silent_days[0], total_messages=None), *baseline[1:], jump]
    assert anomalies(with_null) == []


def test_the_baseline_is_the_28_days_before_the_day():
    # 13 rows in D-28..D-1 and one on D-29: 13 baseline values, too few
    window = days_before(DAY, 28)[::2][1:]
    rows = [metrics_row(DAY - dt.timedelta(days=29)), *map(metrics_row, window)]
    assert anomalies([*rows, metrics_row(DAY, total_messages=500)]) == []
    # the day itself is not in its baseline: 14 rows of 100, a median of 100
    rows.append(metrics_row(DAY - dt.timedelta(days=28)))
    [anomaly] = anomalies([*rows, metrics_row(DAY, total_messages=500)])
    assert anomaly["median"] == 100


def test_error_rate_is_error_count_over_event_count():
    errors = [1, 2] * 14 + [10]  # rates of 0.01 and 0.02, then 0.1
    rows = [{**row, "total_messages": 100} for row in series(errors, metric="error_count")]

    found = {row["metric"]: row for row in anomalies(rows)}

    assert found["error_rate"]["value"] == pytest.approx(0.1)
    assert found["error_rate"]["median"] == pytest.approx(0.015)
    assert found["error_rate"]["score"] == pytest.approx(0.085 / (1.4826 * 0.005))
    assert found["error_count"]["score"] == pytest.approx(8.5 / (1.4826 * 0.5))


def test_the_threshold_is_a_positive_number(monkeypatch):
    monkeypatch.setenv("ANALYTICS_ANOMALY_THRESHOLD", "2.5")
    assert load_configuration(os.environ).monitors.threshold == 2.5
    monkeypatch.setenv("ANALYTICS_ANOMALY_THRESHOLD", "-1")
    with pytest.raises(ConfigurationError, match="ANALYTICS_ANOMALY_THRESHOLD"):
        load_configuration(os.environ)
    monkeypatch.delenv("ANALYTICS_ANOMALY_THRESHOLD")
    assert load_configuration(os.environ).monitors.threshold == 4
