"""Monitors end to end (docs/contract.md, section 9): alerts posted once to a webhook.

The anomalies are computed through Dagster and posted to a real HTTP server on 127.0.0.1;
what was delivered is kept in the `alerts_sent` Iceberg table, so a re-run posts nothing
new and a failed post is retried on the next run, within the alert window. The scores
themselves are tested on hand-built rows in `tests/rules/test_monitors.py`.
"""

import datetime as dt
import http.server
import json
import math
import threading
import uuid

import pytest
from dagster import AssetCheckSeverity, AssetSelection, materialize

from assets.monitors import ALERTS_CHECK
from assets.partitions import partition_range_tags
from assets.resources import MonitorsResource, SourceResource
from tests.e2e.support import defs, lakehouse_resource
from warehouse.monitors import AlertNotDelivered, post_alert
from warehouse.tables import ALERTS_SENT, DAILY_TABLES

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = dt.date(2025, 3, 29)


def days_before(day, count):
    """The `count` days just before `day`, oldest first."""
    return [day - dt.timedelta(days=offset) for offset in range(count, 0, -1)]


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


# metric_anomalies and the tables under it; every daily table, as only complete days are scored
MONITORED = ("events", *(spec.name for spec in DAILY_TABLES), "metric_anomalies")


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
        **defs.resources,
        "source": SourceResource(dsn=source.dsn, table=source.table),
        "lakehouse": lakehouse_resource(warehouse_dir),
        "monitors": MonitorsResource(webhook_url=url),
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
    table = lakehouse_resource(warehouse_dir).open().table(ALERTS_SENT)
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
    second_run = run_monitors(source, warehouse_dir, webhook.url, yesterday, names=MONITORED[-1:])
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
    run_monitors(source, warehouse_dir, webhook.url, yesterday, names=MONITORED[-1:])
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


def test_metric_anomalies_selected_with_only_what_it_reads_reports_every_check(
    source, run_pipeline
):
    # the other daily tables unselected, the day is not complete: nothing is scored, and
    # Dagster still gets a result for each selected check
    source.insert(
        {
            "organization_id": ORG,
            "event_type": "message.sent",
            "user_id": uuid.UUID(int=2),
            "created_at": f"{DAY} 10:00",
        }
    )

    result = run_pipeline(DAY.isoformat(), select="metric_anomalies")

    assert result.success
    evaluations = {
        evaluation.check_name: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key.path == ["metric_anomalies"]
    }
    assert evaluations == {"key_is_unique": True, ALERTS_CHECK: True}
