"""The price file's rules (docs/contract.md, section 8): a hand-written CSV file either loads
whole as the `model_prices` table or is refused whole, with one sentence naming the line.

Lines are counted in the file as an editor shows them: the comments and blank lines are
skipped, but they count.
"""

import datetime as dt

import pyarrow as pa
import pytest

from warehouse.costs import PriceFileError, load_prices

HEADER = "model,effective_from,usd_per_million_tokens\n"
# line 1 a comment, line 2 blank, line 3 the header: the first price is line 4
PREAMBLE = "# US dollars per million tokens\n\n" + HEADER


def refusal(tmp_path, text):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    with pytest.raises(PriceFileError) as refused:
        load_prices(path)
    prefix = f"The price file {path} (ANALYTICS_MODEL_PRICES) is refused: "
    assert str(refused.value).startswith(prefix)
    return str(refused.value).removeprefix(prefix)


def test_a_price_file_loads_as_model_prices_sorted_by_model_and_day(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(
        PREAMBLE + "small,2025-03-02,0.50\n# a comment between prices\n"
        " gpt-x , 2025-03-03 , 5 \ngpt-x,2025-03-01,2.00\n\n"
    )

    prices = load_prices(path)

    assert prices.schema == pa.schema(
        [
            ("model", pa.string()),
            ("effective_from", pa.date32()),
            ("usd_per_million_tokens", pa.float64()),
        ]
    )
    assert prices.to_pylist() == [
        {"model": "gpt-x", "effective_from": dt.date(2025, 3, 1), "usd_per_million_tokens": 2.0},
        {"model": "gpt-x", "effective_from": dt.date(2025, 3, 3), "usd_per_million_tokens": 5.0},
        {"model": "small", "effective_from": dt.date(2025, 3, 2), "usd_per_million_tokens": 0.5},
    ]


def test_the_columns_may_come_in_any_order_and_extra_ones_are_ignored(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("note,usd_per_million_tokens,effective_from,model\nlaunch,3,2025-03-01,gpt-x\n")

    assert load_prices(path).to_pylist() == [
        {"model": "gpt-x", "effective_from": dt.date(2025, 3, 1), "usd_per_million_tokens": 3.0}
    ]


def test_a_header_without_a_column_is_refused_naming_the_header_line(tmp_path):
    text = "# prices\nmodel,usd_per_million_tokens\ngpt-x,2\n"

    assert refusal(tmp_path, text) == "line 2 (the header) has no column effective_from."


def test_two_rows_for_one_model_and_day_are_refused_naming_both_lines(tmp_path):
    text = PREAMBLE + "gpt-x,2025-03-01,2\nsmall,2025-03-01,1\n\ngpt-x,2025-03-01,3\n"

    assert refusal(tmp_path, text) == "line 7 repeats gpt-x from 2025-03-01 (line 4)."


def test_a_row_without_its_price_field_is_refused(tmp_path):
    assert (
        refusal(tmp_path, PREAMBLE + "gpt-x,2025-03-01\n") == "line 4 has 2 fields, the header 3."
    )


def test_an_empty_price_is_refused(tmp_path):
    text = PREAMBLE + "gpt-x,2025-03-01,\n"

    assert refusal(tmp_path, text) == "line 4 has the price '', not a number."


def test_a_negative_price_is_refused(tmp_path):
    text = PREAMBLE + "gpt-x,2025-03-01,2\ngpt-x,2025-03-02,-1.50\n"

    assert refusal(tmp_path, text) == "line 5 has the negative price -1.50."


@pytest.mark.parametrize("price", ["cheap", "1,5", "inf", "nan"])
def test_a_price_that_is_not_a_finite_number_is_refused(tmp_path, price):
    text = PREAMBLE + f'gpt-x,2025-03-01,"{price}"\n'

    assert refusal(tmp_path, text) == f"line 4 has the price '{price}', not a number."


@pytest.mark.parametrize("day", ["2025-02-30", "1/3/2025", "2025-3-01", "0000-01-01", ""])
def test_a_day_that_is_not_a_date_as_yyyy_mm_dd_is_refused(tmp_path, day):
    text = PREAMBLE + f"gpt-x,{day},2\n"

    assert refusal(tmp_path, text) == f"line 4 has effective_from '{day}', not YYYY-MM-DD."


def test_a_row_without_a_model_is_refused(tmp_path):
    assert refusal(tmp_path, PREAMBLE + " ,2025-03-01,2\n") == "line 4 has no model."


def test_the_first_broken_line_is_named_and_of_a_line_its_first_broken_rule(tmp_path):
    # line 4 breaks two rules, the date's first; line 5 breaks one, never reached
    text = PREAMBLE + "gpt-x,2025-13-01,-1\ngpt-x,2025-03-01,cheap\n"

    assert refusal(tmp_path, text) == "line 4 has effective_from '2025-13-01', not YYYY-MM-DD."


def test_a_file_without_a_header_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("# nothing but a comment\n\n")

    with pytest.raises(PriceFileError) as refused:
        load_prices(path)

    assert str(refused.value) == f"The price file {path} (ANALYTICS_MODEL_PRICES) has no header."
