"""Model costs (metrics.md, section 8): the price list, read from a CSV file.

The file has the header `model,effective_from,usd_per_million_tokens` (any order), one
row per model and first UTC day of a price; blank lines and lines starting with `#` are
comments. A file with a missing column or field, an empty model, a date that is not
YYYY-MM-DD, a price that is not a number or is negative, or two rows for one (model,
effective_from) is refused whole, with one sentence naming the line.

The daily tables price an event with its model's row of the latest `effective_from` on
or before the event's UTC day (`sql/costs/priced_events.sql`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException, ValidationException

from warehouse.lakehouse import Lakehouse
from warehouse.sql_files import load_sql
from warehouse.tables import MODEL_PRICES

PRICE_COLUMNS = ("model", "effective_from", "usd_per_million_tokens")


class PriceFileError(ValueError):
    """The price file is malformed; the message names the file and the line."""


_PRICE_COMMIT_ATTEMPTS = 5


def prices_version(path: Path) -> str:
    """A digest of the file's bytes: the code version of every table priced with it."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def _refuse(path: Path, line: int, problem: str) -> PriceFileError:
    return PriceFileError(
        f"The price file {path} (ANALYTICS_MODEL_PRICES) is refused: line {line} {problem}."
    )


def _date(text: str) -> dt.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _price(text: str) -> float | None:
    try:
        price = float(text)
    except ValueError:
        return None
    return price if math.isfinite(price) else None


def load_prices(path: Path) -> pa.Table:
    """The price list as a `model_prices` table, or PriceFileError naming the bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PriceFileError(
            f"The price file {path} (ANALYTICS_MODEL_PRICES) cannot be read: {error}."
        ) from None
    rows = [
        (number, fields)
        for number, fields in enumerate(csv.reader(text.splitlines()), start=1)
        if fields and any(fields) and not fields[0].lstrip().startswith("#")
    ]
    if not rows:
        raise PriceFileError(f"The price file {path} (ANALYTICS_MODEL_PRICES) has no header.")
    header_line, header = rows[0]
    header = [name.strip() for name in header]
    for column in PRICE_COLUMNS:
        if column not in header:
            raise _refuse(path, header_line, f"(the header) has no column {column}")
    index = {column: header.index(column) for column in PRICE_COLUMNS}
    prices: dict[tuple[str, dt.date], tuple[int, float]] = {}
    for number, fields in rows[1:]:
        if len(fields) != len(header):
            raise _refuse(path, number, f"has {len(fields)} fields, the header {len(header)}")
        model = fields[index["model"]].strip()
        date_text = fields[index["effective_from"]].strip()
        price_text = fields[index["usd_per_million_tokens"]].strip()
        if not model:
            raise _refuse(path, number, "has no model")
        effective_from = _date(date_text)
        if effective_from is None:
            raise _refuse(path, number, f"has effective_from {date_text!r}, not YYYY-MM-DD")
        price = _price(price_text)
        if price is None:
            raise _refuse(path, number, f"has the price {price_text!r}, not a number")
        if price < 0:
            raise _refuse(path, number, f"has the negative price {price_text}")
        if (model, effective_from) in prices:
            first = prices[(model, effective_from)][0]
            raise _refuse(path, number, f"repeats {model} from {effective_from} (line {first})")
        prices[(model, effective_from)] = (number, price)
    return pa.Table.from_pylist(
        [
            {"model": model, "effective_from": day, "usd_per_million_tokens": price}
            for (model, day), (_, price) in sorted(prices.items())
        ],
        schema=pa.schema(
            [
                ("model", pa.string()),
                ("effective_from", pa.date32()),
                ("usd_per_million_tokens", pa.float64()),
            ]
        ),
    )


def publish_prices(lakehouse: Lakehouse, prices: pa.Table) -> None:
    """Replaces the whole `model_prices` table with `prices` in one commit and one snapshot.

    One snapshot, so that no version of the table (time travel) has an empty price list.
    Parallel runs each load the same price list: two whole-table replaces conflict, so a
    run whose commit lost the race re-reads the table and is done when the winner
    published the same prices.
    """
    for attempt in range(_PRICE_COMMIT_ATTEMPTS):
        table = lakehouse.table(MODEL_PRICES)
        if table.current_snapshot() is not None and _same_rows(table.scan().to_arrow(), prices):
            return
        try:
            lakehouse.replace_table(MODEL_PRICES, prices, table)
            return
        except (CommitFailedException, ValidationException):
            if attempt == _PRICE_COMMIT_ATTEMPTS - 1:
                raise


def _same_rows(published: pa.Table, prices: pa.Table) -> bool:
    order = [("model", "ascending"), ("effective_from", "ascending")]
    names = prices.column_names
    return published.select(names).sort_by(order).to_pylist() == prices.sort_by(order).to_pylist()


def register_priced_events(lakehouse: Lakehouse, connection: duckdb.DuckDBPyConnection) -> None:
    """Adds the `model_prices` view and `priced_events` (events with model, price and cost)."""
    lakehouse.register(connection, tables=[MODEL_PRICES])
    connection.execute(load_sql("costs/priced_events"))
