"""Every table the warehouse publishes, with its columns as the data contract defines them.

One registry serves the Dagster UI (column schemas), the catalog (typed empty views
for tables not materialised yet) and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str
    description: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def date_column(self) -> str:
        """The column a partition is keyed by: the UTC day, or the as-of date of an insight."""
        return next(name for name in self.column_names if name in _DATE_COLUMNS)


_DATE_COLUMNS = ("event_date", "as_of_date", "date", "effective_from")
_ORG = Column("organization_id", "UUID", "Tenant the events belong to.")
_DATE = Column("date", "DATE", "UTC calendar day of the events.")
_AGENT = Column("agent_id", "UUID", "The agent (resource_id of events with resource_type 'agent').")
_AS_OF = Column("as_of_date", "DATE", "Last day of the current period.")
_WINDOW = Column("window_days", "INTEGER", "Length of the period in days.")
_COST = Column(
    "total_cost_usd",
    "DOUBLE",
    "Sum of the priced events' costs, tokens * price / 1,000,000 (0 when none); NULL on "
    "days computed before the column existed.",
)


def _response_time_columns(over: str) -> tuple[Column, ...]:
    return (
        Column(
            "avg_response_time",
            "DOUBLE",
            f"Mean valid responseTime (ms) over {over}; NULL when none.",
        ),
        Column(
            "p50_response_time",
            "DOUBLE",
            f"Median valid responseTime (ms, quantile_cont) over {over}; NULL when none.",
        ),
        Column(
            "p95_response_time",
            "DOUBLE",
            f"95th percentile of valid responseTime (ms) over {over}; NULL when none.",
        ),
    )


EVENTS = TableSpec(
    name="events",
    description=(
        "The raw lake: every extracted event of the day, counted or not, with the source "
        "columns, its UTC event_date and the typed numeric properties "
        "(NULL when absent or invalid)."
    ),
    key=("id",),
    columns=(
        Column("id", "UUID", "Event id (source primary key)."),
        Column("organization_id", "UUID", "Tenant; NULL events are only counted in data_quality."),
        Column("event_type", "VARCHAR", "e.g. message.sent; unknown types are kept."),
        Column("resource_type", "VARCHAR", "agent, workflow, document, user, ..."),
        Column("resource_id", "UUID", "The agent's id when resource_type = 'agent'."),
        Column("properties", "JSON", "The original properties JSON text."),
        Column("user_id", "UUID", "The acting end user."),
        Column("created_at", "TIMESTAMP", "When the event happened, in UTC."),
        Column("event_date", "DATE", "UTC calendar day of created_at."),
        Column("tokens", "BIGINT", "Valid properties.tokens (integral, >= 0), else NULL."),
        Column("response_time_ms", "DOUBLE", "Valid properties.responseTime (>= 0), else NULL."),
        Column("rating", "DOUBLE", "Valid properties.rating (1 to 5), else NULL."),
    ),
)

DAILY_METRICS = TableSpec(
    name="daily_metrics",
    description=(
        "One row per organisation and UTC day with at least one counted event "
        "(non-null organization_id and event_type)."
    ),
    key=("organization_id", "date"),
    columns=(
        _ORG,
        _DATE,
        Column("total_messages", "BIGINT", "Events of type message.sent or message.received."),
        Column("total_conversations", "BIGINT", "Events of type conversation.started."),
        Column("total_tokens", "BIGINT", "Sum of valid tokens over all events (0 when none)."),
        Column("unique_users", "BIGINT", "Distinct non-null user_id over all events."),
        *_response_time_columns("the day's message.received events"),
        Column(
            "agent_count",
            "BIGINT",
            "Distinct non-null resource_id among events with resource_type 'agent'.",
        ),
        Column("workflow_executions", "BIGINT", "Events of type workflow.executed."),
        Column("error_count", "BIGINT", "Events of type agent.error or workflow.failed."),
        Column("event_count", "BIGINT", "All counted events."),
        _COST,
    ),
)

AGENT_METRICS = TableSpec(
    name="agent_metrics",
    description=(
        "One row per organisation, agent and UTC day, over the counted events with "
        "resource_type 'agent' and a non-null resource_id."
    ),
    key=("organization_id", "agent_id", "date"),
    columns=(
        _ORG,
        _AGENT,
        _DATE,
        Column("conversation_count", "BIGINT", "Events of type conversation.started."),
        Column("message_count", "BIGINT", "Events of type message.sent or message.received."),
        *_response_time_columns("the agent's message.received events"),
        Column("total_tokens", "BIGINT", "Sum of valid tokens (0 when none)."),
        Column("error_count", "BIGINT", "Events of type agent.error."),
        Column(
            "satisfaction_score",
            "DOUBLE",
            "Mean valid rating (1 to 5) over message.rated events; NULL when none.",
        ),
        Column("rating_count", "BIGINT", "Number of valid ratings."),
        _COST,
    ),
)

EVENT_COUNTS = TableSpec(
    name="event_counts",
    description="Counted events per organisation, UTC day and event type, unknown types included.",
    key=("organization_id", "date", "event_type"),
    columns=(
        _ORG,
        _DATE,
        Column("event_type", "VARCHAR", "The event's type as the source wrote it."),
        Column("event_count", "BIGINT", "Counted events of that type."),
    ),
)

DATA_QUALITY = TableSpec(
    name="data_quality",
    description=(
        "Issues found in each day's extracted events, counted or not; one event can raise "
        "several issues. Issues with no occurrence are left out."
    ),
    key=("date", "issue"),
    columns=(
        _DATE,
        Column(
            "issue",
            "VARCHAR",
            "missing_organization_id, missing_event_type, missing_agent_id, "
            "malformed_properties, invalid_tokens, invalid_response_time, invalid_rating, "
            "unpriced_tokens (valid tokens without a price) or invalid_timezone.",
        ),
        Column(
            "count",
            "BIGINT",
            "Events of the day raising the issue (invalid_timezone: organisations with events "
            "that day whose configured time zone is unknown).",
        ),
    ),
)

MODEL_PRICES = TableSpec(
    name="model_prices",
    description=(
        "Each model's price per million tokens from each effective_from day on, loaded from "
        "the CSV file at ANALYTICS_MODEL_PRICES."
    ),
    key=("model", "effective_from"),
    columns=(
        Column("model", "VARCHAR", "The model, as events name it in properties.model."),
        Column("effective_from", "DATE", "First UTC day the price applies to."),
        Column("usd_per_million_tokens", "DOUBLE", "US dollars per million tokens."),
    ),
)

MODEL_USAGE = TableSpec(
    name="model_usage",
    description=(
        "Counted events with valid tokens per organisation, UTC day and model, with their cost."
    ),
    key=("organization_id", "date", "model"),
    columns=(
        _ORG,
        _DATE,
        Column("model", "VARCHAR", "properties.model when a JSON string, else NULL."),
        Column("event_count", "BIGINT", "Counted events with valid tokens."),
        Column("total_tokens", "BIGINT", "Sum of their valid tokens."),
        Column(
            "cost_usd",
            "DOUBLE",
            "total_tokens * the day's price / 1,000,000; NULL when the model has no price.",
        ),
    ),
)

DAILY_ACTIVE_USERS = TableSpec(
    name="daily_active_users",
    description=(
        "Compact layer for exact distinct users over any period: each (organisation, day, "
        "user) with a counted event."
    ),
    key=("organization_id", "date", "user_id"),
    columns=(_ORG, _DATE, Column("user_id", "UUID", "An end user active that day.")),
)

DAILY_MEASUREMENTS = TableSpec(
    name="daily_measurements",
    description=(
        "Compact layer for exact averages and percentiles over any period: how many times "
        "each valid responseTime (on message.received) and rating (on message.rated) value "
        "occurred per organisation, agent and day."
    ),
    key=("organization_id", "agent_id", "date", "measure", "value"),
    columns=(
        _ORG,
        Column("agent_id", "UUID", "The agent, or NULL when the event is not an agent's."),
        _DATE,
        Column("measure", "VARCHAR", "response_time_ms or rating."),
        Column("value", "DOUBLE", "A valid value of the measure."),
        Column("value_count", "BIGINT", "How many events carried that value."),
    ),
)

PERIOD_COMPARISON = TableSpec(
    name="period_comparison",
    description=(
        "For every as-of date D and window of 1, 7 and 30 days: each organisation's metrics "
        "over [D - window + 1, D] against the previous period of the same length. "
        "Long format, one row per metric."
    ),
    key=("organization_id", "as_of_date", "window_days", "metric"),
    columns=(
        _ORG,
        _AS_OF,
        _WINDOW,
        Column(
            "metric",
            "VARCHAR",
            "total_messages, total_conversations, total_tokens, unique_users, "
            "avg_response_time, p95_response_time, agent_count, workflow_executions "
            "or error_count.",
        ),
        Column("current_value", "DOUBLE", "The metric over the current period."),
        Column("previous_value", "DOUBLE", "The metric over the previous period."),
        Column(
            "change_pct",
            "DOUBLE",
            "(current - previous) / previous * 100; NULL when previous is 0 or NULL.",
        ),
    ),
)

TOP_AGENTS = TableSpec(
    name="top_agents",
    description=(
        "For every as-of date D: each organisation's 10 leading agents over [D - 29, D], "
        "ranked by messages, then conversations, then agent id."
    ),
    key=("organization_id", "as_of_date", "rank"),
    columns=(
        _ORG,
        _AS_OF,
        _WINDOW,
        Column("rank", "BIGINT", "1-based rank within the organisation."),
        _AGENT,
        Column("message_count", "BIGINT", "Messages over the window."),
        Column("conversation_count", "BIGINT", "Conversations started over the window."),
        Column("total_tokens", "BIGINT", "Valid tokens over the window."),
        Column("avg_response_time", "DOUBLE", "Mean valid responseTime over the window."),
        Column("error_count", "BIGINT", "agent.error events over the window."),
        Column("satisfaction_score", "DOUBLE", "Mean valid rating over the window."),
        Column("rating_count", "BIGINT", "Valid ratings over the window."),
    ),
)

METRIC_ANOMALIES = TableSpec(
    name="metric_anomalies",
    description=(
        "For each organisation and UTC day with a daily_metrics row: every metric whose "
        "modified z-score against the organisation's previous 28 days (at least 14 values) "
        "reaches ANALYTICS_ANOMALY_THRESHOLD in absolute value."
    ),
    key=("organization_id", "date", "metric"),
    columns=(
        _ORG,
        _DATE,
        Column(
            "metric",
            "VARCHAR",
            "total_messages, error_count, error_rate (error_count / event_count), "
            "p95_response_time, total_tokens or total_cost_usd.",
        ),
        Column("value", "DOUBLE", "The metric on that day."),
        Column("median", "DOUBLE", "Median of the baseline (quantile_cont)."),
        Column("mad", "DOUBLE", "Median absolute deviation of the baseline from its median."),
        Column(
            "score",
            "DOUBLE",
            "(value - median) / (1.4826 * mad); with mad = 0, (value - median) / (1.2533 * "
            "mean absolute deviation); with both 0, +/-infinity.",
        ),
        Column("direction", "VARCHAR", "up or down."),
    ),
)

ALERTS_SENT = TableSpec(
    name="alerts_sent",
    description=(
        "Every anomaly posted to ANALYTICS_ALERT_WEBHOOK_URL, appended when the webhook "
        "accepted it, so no anomaly is posted twice."
    ),
    key=("organization_id", "date", "metric"),
    columns=(
        _ORG,
        Column("date", "DATE", "UTC day of the anomaly."),
        Column("metric", "VARCHAR", "The anomalous metric."),
        Column("score", "DOUBLE", "The score posted."),
        Column("sent_at", "TIMESTAMP", "When the webhook accepted it (UTC)."),
    ),
)

_TIMEZONE = Column(
    "timezone",
    "VARCHAR",
    "IANA time zone the day was computed in (UTC for a missing or unknown name).",
)
_LOCAL_DATE = Column("date", "DATE", "The organisation's local calendar day of the events.")


def _local_twin(spec: TableSpec) -> TableSpec:
    """A daily table computed over each organisation's local days: same columns plus timezone."""
    columns = tuple(_LOCAL_DATE if column.name == "date" else column for column in spec.columns)
    return TableSpec(
        name=f"{spec.name}_local",
        description=(
            f"{spec.name} over each organisation's local calendar day (events in [local "
            "midnight, next local midnight) of its time zone), plus the zone."
        ),
        key=spec.key,
        columns=(*columns, _TIMEZONE),
    )


ORGANIZATION_TIMEZONES = TableSpec(
    name="organization_timezones",
    description=(
        "The time zone of every organisation with events on a UTC day, as the platform's "
        "table (ANALYTICS_ORG_TIMEZONES_TABLE) named it when the day was processed."
    ),
    key=("organization_id", "date"),
    columns=(
        _ORG,
        _DATE,
        Column(
            "configured_timezone",
            "VARCHAR",
            "The name in the platform's table; NULL when the organisation is not in it.",
        ),
        _TIMEZONE,
    ),
)

DAILY_TABLES = (
    DAILY_METRICS,
    AGENT_METRICS,
    EVENT_COUNTS,
    DATA_QUALITY,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    MODEL_USAGE,
)
# the daily tables whose rows depend on the prices
COST_TABLES = (DAILY_METRICS, AGENT_METRICS, DATA_QUALITY, MODEL_USAGE)
INSIGHT_TABLES = (PERIOD_COMPARISON, TOP_AGENTS)
MONITOR_TABLES = (METRIC_ANOMALIES,)
DAILY_METRICS_LOCAL = _local_twin(DAILY_METRICS)
AGENT_METRICS_LOCAL = _local_twin(AGENT_METRICS)
EVENT_COUNTS_LOCAL = _local_twin(EVENT_COUNTS)
# the compact layers over local days: exact distinct users, averages and percentiles of
# any range of local days (overview_local)
DAILY_ACTIVE_USERS_LOCAL = _local_twin(DAILY_ACTIVE_USERS)
DAILY_MEASUREMENTS_LOCAL = _local_twin(DAILY_MEASUREMENTS)
# Each local table and the UTC table it is the twin of (same columns, same SQL).
LOCAL_TWINS = {
    DAILY_METRICS_LOCAL: DAILY_METRICS,
    AGENT_METRICS_LOCAL: AGENT_METRICS,
    EVENT_COUNTS_LOCAL: EVENT_COUNTS,
    DAILY_ACTIVE_USERS_LOCAL: DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS_LOCAL: DAILY_MEASUREMENTS,
}
LOCAL_TABLES = tuple(LOCAL_TWINS)


def is_priced(spec: TableSpec) -> bool:
    """Whether the table's rows depend on the prices: a cost table or a local twin of one."""
    return LOCAL_TWINS.get(spec, spec) in COST_TABLES


# The published tables; `alerts_sent` is the alerting's own bookkeeping, kept out of the views.
LAKE_TABLES = (
    EVENTS,
    MODEL_PRICES,
    *DAILY_TABLES,
    *INSIGHT_TABLES,
    *MONITOR_TABLES,
    ORGANIZATION_TIMEZONES,
    *LOCAL_TABLES,
)
