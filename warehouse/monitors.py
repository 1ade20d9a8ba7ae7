"""Monitors (docs/contract.md, section 9): anomalies of each organisation's daily metrics, and
their alerts to a webhook.

An anomaly is posted at most once: `alerts_sent` (an Iceberg table of the warehouse)
records every alert the webhook accepted, appended right after it answered, and the
anomalies it holds are never posted again, whatever the re-runs and backfills. An alert
the webhook refused (an error status, no answer, a timeout) is not recorded, so the
next run posts it again.

Backfills do not flood the channel: only anomalies of the alert window, the last
`ANALYTICS_LATE_DAYS + 1` UTC days up to today (the days the daily schedule re-computes),
are posted; older ones are computed and published but never posted.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from warehouse.completeness import incomplete_utc_days
from warehouse.engine import compute_connection
from warehouse.sql_files import load_sql
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import register_tables
from warehouse.tables import ALERTS_SENT, METRIC_ANOMALIES

BASELINE_DAYS = 28
ALERT_TIMEOUT_SECONDS = 10


def score_day(
    connection: duckdb.DuckDBPyConnection, day: dt.date, threshold: float
) -> pa.Table | None:
    """`sql/monitors/metric_anomalies.sql` over the `daily_metrics` relation of `connection`
    (an `analytics_connection`); None when the day is not complete, which is never scored
    (docs/contract.md, section 10)."""
    if incomplete_utc_days(connection, day, day):
        return None
    return connection.sql(
        load_sql("monitors/metric_anomalies"), params={"day": day, "threshold": threshold}
    ).to_arrow_table()


def baseline_start(day: dt.date) -> dt.date:
    """The first daily_metrics partition the anomalies of `day` read."""
    return day - dt.timedelta(days=BASELINE_DAYS)


def alert_window(today: dt.date, alert_days: int) -> tuple[dt.date, dt.date]:
    """The days whose anomalies are posted: the last `alert_days` days before today, and today."""
    return today - dt.timedelta(days=alert_days), today


def pending_alerts(lakehouse: Lakehouse, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Anomalies of [first, last] that `alerts_sent` does not hold, oldest first."""
    with compute_connection() as connection:
        register_tables(lakehouse, connection, [METRIC_ANOMALIES, ALERTS_SENT], first, last)
        cursor = connection.execute(
            """
            select anomaly.*
            from metric_anomalies as anomaly
            anti join alerts_sent using (organization_id, date, metric)
            order by date, organization_id, metric
            """
        )
        names = [column[0] for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def alert_text(anomaly: dict[str, Any]) -> str:
    arrow = "rose" if anomaly["direction"] == "up" else "fell"
    return (
        f"Anomaly: {anomaly['metric']} of organisation {anomaly['organization_id']} {arrow} to "
        f"{anomaly['value']:g} on {anomaly['date']} (median of the previous 28 days "
        f"{anomaly['median']:g}, score {anomaly['score']:.1f})"
    )


def alert_payload(anomaly: dict[str, Any]) -> dict[str, Any]:
    """Slack-compatible: `text`, plus the anomaly's fields (infinite scores as strings)."""
    fields = {
        name: (
            str(value)
            if isinstance(value, dt.date | dt.datetime) or not isinstance(value, float | int)
            else value
            if math.isfinite(value)
            else ("Infinity" if value > 0 else "-Infinity")
        )
        for name, value in anomaly.items()
    }
    return {"text": alert_text(anomaly), **fields}


class AlertNotDelivered(RuntimeError):
    """The webhook refused an alert or did not answer."""


def post_alert(url: str, anomaly: dict[str, Any], timeout: float = ALERT_TIMEOUT_SECONDS) -> None:
    body = json.dumps(alert_payload(anomaly)).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise AlertNotDelivered(f"the webhook answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise AlertNotDelivered(f"the webhook did not answer ({reason})") from None


def record_sent(lakehouse: Lakehouse, anomaly: dict[str, Any], sent_at: dt.datetime) -> None:
    """Appends one delivered alert to `alerts_sent` (one commit)."""
    table = lakehouse.table(ALERTS_SENT)
    schema = schema_to_pyarrow(table.schema(), include_field_ids=False)
    row = {
        "organization_id": str(anomaly["organization_id"]),
        "date": anomaly["date"],
        "metric": anomaly["metric"],
        "score": anomaly["score"],
        "sent_at": sent_at.astimezone(dt.UTC).replace(tzinfo=None),
    }
    table.append(pa.Table.from_pylist([row], schema=schema))


@dataclass
class AlertOutcome:
    sent: list[dict[str, Any]]
    failed: list[tuple[dict[str, Any], str]]
    window: tuple[dt.date, dt.date]


def send_alerts(lakehouse: Lakehouse, url: str, now: dt.datetime, alert_days: int) -> AlertOutcome:
    """Posts each unsent anomaly of the alert window once; a failure is left for the next run."""
    window = alert_window(now.astimezone(dt.UTC).date(), alert_days)
    outcome = AlertOutcome(sent=[], failed=[], window=window)
    for anomaly in pending_alerts(lakehouse, *window):
        try:
            post_alert(url, anomaly)
        except AlertNotDelivered as error:
            outcome.failed.append((anomaly, str(error)))
            continue
        record_sent(lakehouse, anomaly, dt.datetime.now(dt.UTC))
        outcome.sent.append(anomaly)
    return outcome
