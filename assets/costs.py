"""`model_prices`: the price list, loaded from the CSV file at ANALYTICS_MODEL_PRICES.

Not partitioned: each materialisation replaces the whole table. Its code version and
data version are the file's digest, which is also the code version of every table priced
with it (`assets/daily_tables.py`): a new price file shows them all stale in the UI, and
one backfill of the cost tables recomputes history with the new prices. A malformed file
fails the step with one sentence naming the line, so nothing downstream runs on it.
"""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.metadata import OWNERS, definition_metadata, preview_markdown
from assets.publishing import refresh_views
from assets.resources import Warehouse
from warehouse.costs import PriceFileError, load_prices, prices_version, publish_prices
from warehouse.tables import MODEL_PRICES


def build_model_prices_asset(version: str) -> AssetsDefinition:
    @asset(
        name=MODEL_PRICES.name,
        group_name="costs",
        description=MODEL_PRICES.description,
        code_version=version,
        # lets `dagster asset materialize --select '*' --partition-range` take it in the run
        backfill_policy=BackfillPolicy.single_run(),
        kinds={"csv", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(MODEL_PRICES),
    )
    def model_prices(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        path = Path(warehouse.model_prices)
        try:
            prices = load_prices(path)
        except PriceFileError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        publish_prices(warehouse.lakehouse(), prices)
        refresh_views(context, warehouse, [MODEL_PRICES])
        context.log.info(f"model_prices: {prices.num_rows} prices from {path}")
        return MaterializeResult(
            data_version=DataVersion(prices_version(path)),
            metadata={
                "path": MetadataValue.path(str(path)),
                "dagster/row_count": MetadataValue.int(prices.num_rows),
                "preview": MetadataValue.md(preview_markdown(prices)),
            },
        )

    return model_prices
