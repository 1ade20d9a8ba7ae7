"""Model costs (docs/contract.md, section 8): each event's cost at its model's price of its
day, the cost columns and macros, and the tokens that have no price.

Hand-written price files where 1,000,000 tokens cost the price itself, so every cost can be
checked by eye; each test sets its list as the warehouse's prices. The price file's own
rules (what loads, what is refused) are in `tests/rules/test_price_list.py`.
"""

import datetime as dt
import uuid

import pytest

from tests.rules.memory_warehouse import DEFAULT_PRICES
from warehouse.costs import load_prices

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
HEADER = "model,effective_from,usd_per_million_tokens\n"
PRICES = HEADER + "gpt-x,2025-03-01,2.00\ngpt-x,2025-03-03,5.00\nsmall,2025-03-02,0.50\n"


def price_file(tmp_path, text=PRICES, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def event(day, tokens, model=None, **fields):
    properties = {"tokens": tokens} if model is None else {"tokens": tokens, "model": model}
    return {
        "organization_id": ORG,
        "event_type": "message.sent",
        "created_at": f"{day} 10:00",
        "properties": properties,
        **fields,
    }


@pytest.fixture
def priced(warehouse, tmp_path):
    """The warehouse, costing with PRICES."""
    warehouse.prices = load_prices(price_file(tmp_path))
    return warehouse


def test_the_shipped_price_list_loads():
    prices = load_prices(DEFAULT_PRICES)
    assert prices.num_rows >= 5
    assert min(prices.column("usd_per_million_tokens").to_pylist()) > 0


def test_an_event_costs_its_tokens_at_its_models_latest_price_on_its_day(
    source, priced, run_pipeline, query
):
    # gpt-x costs 2.00 from March 1 and 5.00 from March 3; small 0.50 from March 2
    agent = {"resource_type": "agent", "resource_id": AGENT}
    source.insert(
        event("2025-03-01", 500_000, "gpt-x", **agent),  # 1.00
        event("2025-03-02", 250_000, "gpt-x"),  # 0.50: March 1's price still applies
        event("2025-03-02", 1_000_000, "small", **agent),  # 0.50
        event("2025-03-03", 200_000, "gpt-x", **agent),  # 1.00 at the new price
        event("2025-03-03", 200_000, "gpt-x", **agent),  # 1.00
    )

    run_pipeline("2025-03-01", "2025-03-03")

    assert query("select date, total_cost_usd from daily_metrics order by date") == [
        (dt.date(2025, 3, 1), pytest.approx(1.0)),
        (dt.date(2025, 3, 2), pytest.approx(1.0)),
        (dt.date(2025, 3, 3), pytest.approx(2.0)),
    ]
    assert query("select date, total_cost_usd from agent_metrics order by date") == [
        (dt.date(2025, 3, 1), pytest.approx(1.0)),
        (dt.date(2025, 3, 2), pytest.approx(0.5)),
        (dt.date(2025, 3, 3), pytest.approx(2.0)),
    ]
    assert query(
        "select date, model, event_count, total_tokens, cost_usd from model_usage order by all"
    ) == [
        (dt.date(2025, 3, 1), "gpt-x", 1, 500_000, pytest.approx(1.0)),
        (dt.date(2025, 3, 2), "gpt-x", 1, 250_000, pytest.approx(0.5)),
        (dt.date(2025, 3, 2), "small", 1, 1_000_000, pytest.approx(0.5)),
        (dt.date(2025, 3, 3), "gpt-x", 2, 400_000, pytest.approx(2.0)),
    ]
    assert query(
        "select model, effective_from, usd_per_million_tokens from model_prices order by all"
    ) == [
        ("gpt-x", dt.date(2025, 3, 1), 2.0),
        ("gpt-x", dt.date(2025, 3, 3), 5.0),
        ("small", dt.date(2025, 3, 2), 0.5),
    ]


def test_overview_shows_the_periods_cost_beside_its_tokens_against_the_previous_period(
    source, priced, run_pipeline, query
):
    # gpt-x costs 2.00 from March 1 and 5.00 from March 3
    agent = {"resource_type": "agent", "resource_id": AGENT}
    source.insert(
        event("2025-03-01", 500_000, "gpt-x", **agent),  # previous period: 1.00
        event("2025-03-03", 200_000, "gpt-x", **agent),  # current period: 1.00
        event("2025-03-04", 400_000, "gpt-x"),  # current period: 2.00, no agent
    )
    # local day 03-04 waits for UTC day 03-05 (no zone table: every organisation in UTC)
    run_pipeline("2025-03-01", "2025-03-05")

    tokens_and_cost = (
        "select metric, current_value, previous_value, change_pct from {}('2025-03-03', "
        "'2025-03-04') where metric in ('total_tokens', 'total_cost_usd') order by metric"
    )
    expected = [
        ("total_cost_usd", pytest.approx(3.0), pytest.approx(1.0), pytest.approx(200.0)),
        ("total_tokens", 600_000, 500_000, pytest.approx(20.0)),
    ]
    assert query(tokens_and_cost.format("overview")) == expected
    assert query(tokens_and_cost.format("overview_local")) == expected
    assert query(
        f"select total_tokens, total_cost_usd from agent_analytics('{AGENT}', '2025-03-01',"
        " '2025-03-04')"
    ) == [(700_000, pytest.approx(2.0))]


def test_tokens_without_a_price_cost_nothing_and_count_as_unpriced_tokens(
    source, priced, run_pipeline, query
):
    day = "2025-03-01"
    source.insert(
        event(day, 100, "gpt-x"),  # priced: 0.0002
        event(day, 100),  # no model
        event(day, 100, "unknown-model"),
        event(day, 100, "small"),  # small's first price is March 2
        event(day, 100, 42),  # a model that is not a JSON string is absent
        event(day, 0, "unknown-model"),  # 0 valid tokens still raise the issue
        event(day, 100, "unknown-model", organization_id=None),  # not counted, still an issue
        event(day, "x", "unknown-model"),  # invalid tokens: invalid_tokens, not unpriced
    )

    run_pipeline(day, day)

    assert query("select count from data_quality where issue = 'unpriced_tokens'") == [(6,)]
    assert query("select total_cost_usd from daily_metrics") == [(pytest.approx(0.0002),)]
    assert query(
        "select model, event_count, total_tokens, cost_usd from model_usage order by model"
    ) == [
        ("gpt-x", 1, 100, pytest.approx(0.0002)),
        ("small", 1, 100, None),
        ("unknown-model", 2, 100, None),
        (None, 2, 200, None),
    ]
