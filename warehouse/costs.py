"""Model costs (docs/contract.md, section 8): the price list, read from a CSV file.

The file has the header `model,effective_from,usd_per_million_tokens` (any order), one
row per model and first UTC day of a price; blank lines and lines starting with `#` are
comments. A file with a missing column or field, an empty model, a date that is not
YYYY-MM-DD, a price that is not a number or is negative, or two rows for one (model,
effective_from) is refused whole, with one sentence naming the line.

pyarrow's CSV reader parses the file, every field as text, and DuckDB checks the rules
and types the rows (`sql/costs/checked_price_lines.sql`). pyarrow knows neither comments
nor line numbers: each line that is not blank or a comment reaches it led by its number.

The daily tables price an event with its model's row of the latest `effective_from` on
or before the event's UTC day (`sql/costs/priced_events.sql`).
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pyiceberg.exceptions import CommitFailedException, ValidationException

from warehouse.engine import compute_connection
from warehouse.sql_files import load_sql
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.writing import replace_table
from warehouse.tables import MODEL_PRICES

PRICE_COLUMNS = ("model", "effective_from", "usd_per_million_tokens")
PRICE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("effective_from", pa.date32()),
        ("usd_per_million_tokens", pa.float64()),
    ]
)


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


def _unreadable(path: Path, error: Exception) -> PriceFileError:
    return PriceFileError(
        f"The price file {path} (ANALYTICS_MODEL_PRICES) cannot be read: {error}."
    )


def load_prices(path: Path) -> pa.Table:
    """The price list as a `model_prices` table, or PriceFileError naming the bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable(path, error) from None
    numbered = "".join(
        f"{number},{line}\n"
        for number, line in enumerate(text.splitlines(), start=1)
        if line and not line.lstrip().startswith("#")
    ).encode()
    if not numbered:
        raise PriceFileError(f"The price file {path} (ANALYTICS_MODEL_PRICES) has no header.")
    miscounted: list[tuple[int, int]] = []  # (line, fields) of a row not as long as the header

    def miscount(row: pacsv.InvalidRow) -> str:
        number, _, fields = row.text.partition(",")
        if fields.strip(',"'):  # a row of empty fields (",,") is a blank line
            miscounted.append((int(number), row.actual_columns - 1))
        return "skip"

    try:
        header_only = numbered[: numbered.index(b"\n") + 1]  # the names, to type every column
        names = pacsv.read_csv(io.BytesIO(header_only)).column_names
        rows = pacsv.read_csv(
            io.BytesIO(numbered),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=miscount),
            convert_options=pacsv.ConvertOptions(
                column_types={names[0]: pa.int64()} | dict.fromkeys(names[1:], pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as error:
        raise _unreadable(path, error) from None
    header_line, header = int(names[0]), [name.strip() for name in names[1:]]
    for column in PRICE_COLUMNS:
        if column not in header:
            raise _refuse(path, header_line, f"(the header) has no column {column}")
    blank = functools.reduce(pc.and_, [pc.equal(field, "") for field in rows.columns[1:]])
    rows = rows.filter(pc.invert(blank))
    lines = pa.table(
        {
            "line": rows.column(0),
            **{
                column: pc.utf8_trim_whitespace(rows.column(1 + header.index(column)))
                for column in PRICE_COLUMNS
            },
        }
    )
    lines_miscounted = pa.table(
        {
            "line": pa.array([line for line, _ in miscounted], pa.int64()),
            "fields": pa.array([fields for _, fields in miscounted], pa.int64()),
        }
    )
    with compute_connection() as connection:
        connection.register("price_lines", lines)
        connection.register("miscounted_lines", lines_miscounted)
        connection.execute(load_sql("costs/checked_price_lines"))
        problem = connection.execute(load_sql("costs/price_file_problem")).fetchone()
        if problem is not None:
            line, rule, model, date_text, price_text, first_line, fields = problem
            raise _refuse(
                path,
                line,
                {
                    "fields": f"has {fields} fields, the header {len(header)}",
                    "model": "has no model",
                    "date": f"has effective_from {date_text!r}, not YYYY-MM-DD",
                    "price": f"has the price {price_text!r}, not a number",
                    "negative": f"has the negative price {price_text}",
                    "repeat": f"repeats {model} from {date_text} (line {first_line})",
                }[rule],
            )
        return connection.sql(load_sql("costs/price_list")).to_arrow_table().cast(PRICE_SCHEMA)


def publish_prices(lakehouse: Lakehouse, prices: pa.Table, summary: dict[str, str]) -> None:
    """Replaces the whole `model_prices` table with `prices` in one commit and one snapshot.

    One snapshot, so that no version of the table (time travel) has an empty price list.
    Parallel runs each load the same price list: two whole-table replaces conflict, so a
    run whose commit lost the race re-reads the table and is done when the winner
    published the same prices.
    """
    for attempt in range(_PRICE_COMMIT_ATTEMPTS):
        table = lakehouse.table(MODEL_PRICES) if attempt == 0 else lakehouse.reload(MODEL_PRICES)
        if table.current_snapshot() is not None and _same_rows(table.scan().to_arrow(), prices):
            return
        try:
            replace_table(lakehouse, MODEL_PRICES, prices, summary)
            return
        except (CommitFailedException, ValidationException):
            if attempt == _PRICE_COMMIT_ATTEMPTS - 1:
                raise


def _same_rows(published: pa.Table, prices: pa.Table) -> bool:
    order = [("model", "ascending"), ("effective_from", "ascending")]
    names = prices.column_names
    return published.select(names).sort_by(order).to_pylist() == prices.sort_by(order).to_pylist()
