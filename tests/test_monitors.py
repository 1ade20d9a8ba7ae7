"""Monitors (metrics.md, section 9): anomaly scores, and alerts posted once to a webhook.

The scores are tests of `sql/monitors/metric_anomalies.sql` over hand-built daily_metrics
rows; the alerts go through Dagster to a real HTTP server on 127.0.0.1.
"""

import datetime as dt
import http.server
import json
import math
import threading
import uuid

import duckdb
import pyarrow as pa
import pytest
from conftest import warehouse_resource
from dagster import AssetCheckSeverity, AssetSelection, materialize

from assets.monitors import ALERTS_CHECK
from assets.partitions import partition_range_tags
from assets.resources import SourceDatabase
from pipelines.definitions import defs
from warehouse.monitors import AlertNotDelivered, post_alert, score_day
from warehouse.settings import ConfigurationError, Settings
from warehouse.tables import ALERTS_SENT, DAILY_METRICS

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
    """metric_anomalies of DAY over the hand-built daily_metrics rows."""
    with duckdb.connect(config={"arrow_lossless_conversion": True}) as connection:
        frame = pa.Table.from_pylist(
            [{**row, "organization_id": str(row["organization_id"])} for row in rows]
        )
        connection.register("daily_metrics_rows", frame)
        connection.execute(
            "create view daily_metrics as select * replace "
            "(organization_id::uuid as organization_id) from daily_metrics_rows"
        )
        return score_day(connection, DAY, threshold).to_pylist()


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
    assert Settings.from_environment().anomaly_threshold == 2.5
    monkeypatch.setenv("ANALYTICS_ANOMALY_THRESHOLD", "-1")
    with pytest.raises(ConfigurationError, match="ANALYTICS_ANOMALY_THRESHOLD"):
        Settings.from_environment()
    monkeypatch.delenv("ANALYTICS_ANOMALY_THRESHOLD")
    assert Settings.from_environment().anomaly_threshold == 4


# Alerts, through Dagster


class Webhook:
    """A real HTTP server on 127.0.0.1 answering each POST with the next status of `statuses`."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.received = []
        webhook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append(json.loads(body))
                status = webhook.statuses.pop(0) if webhook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    server = Webhook([500])
    yield server
    server.close()


MONITORED = ("events", "daily_metrics", "metric_anomalies")


def jump_on(source, last_day):
    """One message a day for the 28 days before `last_day`, then five on `last_day`."""
    for each_day in days_before(last_day, 28):
        source.insert(
            {
                "organization_id": ORG,
                "event_type": "message.sent",
                "created_at": f"{each_day} 10:00",
            }
        )
    source.insert(
        *(
            {
                "organization_id": ORG,
                "event_type": "message.sent",
                "created_at": f"{last_day} 10:00",
            }
            for _ in range(5)
        )
    )


def run_monitors(source, warehouse_dir, url, first, last=None, names=MONITORED):
    resources = {
        "source": SourceDatabase(dsn=source.dsn, table=source.table),
        "warehouse": warehouse_resource(warehouse_dir, alert_webhook_url=url),
    }
    partitions = (
        {"partition_key": str(first)}
        if last is None
        else {"tags": partition_range_tags(first, last)}
    )
    return materialize(
        list(defs.assets),
        selection=AssetSelection.assets(*names),
        resources=resources,
        **partitions,
    )


def alerts_check(result):
    [evaluation] = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == ALERTS_CHECK
    ]
    return evaluation


def sent(warehouse_dir):
    table = warehouse_resource(warehouse_dir).lakehouse().table(ALERTS_SENT)
    return table.scan(selected_fields=("date", "metric")).to_arrow().to_pylist()


def test_an_anomaly_is_posted_once_and_a_failed_post_is_retried_on_the_next_run(
    source, warehouse_dir, webhook, query
):
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    jump_on(source, yesterday)

    # the webhook answers 500: the run succeeds, the check warns with the count
    first_run = run_monitors(
        source, warehouse_dir, webhook.url, yesterday - dt.timedelta(days=28), yesterday
    )
    assert first_run.success
    check = alerts_check(first_run)
    assert not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    assert check.metadata["not_delivered"].value == 1
    assert query("select metric, value, median, score from metric_anomalies") == [
        ("total_messages", 5.0, 1.0, math.inf)
    ]
    assert sent(warehouse_dir) == []

    # the next run posts it again, and the webhook accepts it
    second_run = run_monitors(source, warehouse_dir, webhook.url, yesterday, names=MONITORED[2:])
    assert alerts_check(second_run).passed
    assert len(webhook.received) == 2
    posted = webhook.received[-1]
    assert "total_messages" in posted["text"]
    assert {name: posted[name] for name in ("organization_id", "date", "metric", "direction")} == {
        "organization_id": str(ORG),
        "date": str(yesterday),
        "metric": "total_messages",
        "direction": "up",
    }
    assert (posted["value"], posted["median"], posted["mad"], posted["score"]) == (
        5.0,
        1.0,
        0.0,
        "Infinity",
    )
    assert sent(warehouse_dir) == [{"date": yesterday, "metric": "total_messages"}]

    # re-runs, of the day or of the whole range, post nothing new
    run_monitors(source, warehouse_dir, webhook.url, yesterday, names=MONITORED[2:])
    run_monitors(source, warehouse_dir, webhook.url, yesterday - dt.timedelta(days=3), yesterday)
    assert len(webhook.received) == 2


def test_a_backfill_of_days_before_the_alert_window_posts_nothing(source, warehouse_dir, webhook):
    # the default window is ANALYTICS_LATE_DAYS + 1 = 4 days before today
    old_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)
    jump_on(source, old_day)

    result = run_monitors(
        source, warehouse_dir, webhook.url, old_day - dt.timedelta(days=28), old_day
    )

    assert result.success
    assert alerts_check(result).passed
    assert alerts_check(result).metadata["sent"].value == 0
    assert webhook.received == []


def test_without_a_webhook_url_anomalies_are_computed_and_nothing_is_posted(
    source, warehouse_dir, query
):
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    jump_on(source, yesterday)

    result = run_monitors(source, warehouse_dir, None, yesterday - dt.timedelta(days=28), yesterday)

    assert alerts_check(result).passed
    assert query("select metric from metric_anomalies") == [("total_messages",)]
    assert sent(warehouse_dir) == []


def test_a_webhook_that_refuses_the_connection_is_not_delivered():
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = closed.server_port
    closed.server_close()
    anomaly = {
        "organization_id": ORG,
        "date": DAY,
        "metric": "total_messages",
        "value": 5.0,
        "median": 1.0,
        "mad": 0.0,
        "score": math.inf,
        "direction": "up",
    }
    with pytest.raises(AlertNotDelivered, match="did not answer"):
        post_alert(f"http://127.0.0.1:{port}/hook", anomaly, timeout=5)
