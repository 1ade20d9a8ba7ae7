"""`model_prices`: the price list, loaded from the CSV file at ANALYTICS_MODEL_PRICES.

Not partitioned: each materialisation replaces the whole table. Its code version and
data version are the file's digest, which is also the code version of every table priced
with it (`assets/daily_tables.py`): a new price file shows them all stale in the UI, and
one backfill of the cost tables recomputes history with the new prices. A malformed file
fails the step with one sentence naming the line, so nothing downstream runs on it.
"""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
)

from assets.metadata import preview_table
from assets.publishing import refresh_views
from assets.resources import LakehouseResource, PriceListResource
from assets.steps import table_asset
from warehouse.costs import PriceFileError, publish_prices
from warehouse.provenance import code_version
from warehouse.tables import MODEL_PRICES


def build_model_prices_asset(version: str) -> AssetsDefinition:
    @table_asset(
        MODEL_PRICES, "costs", None, kinds={"csv", "iceberg"}, checks=[], code_version=version
    )
    def model_prices(
        context: AssetExecutionContext, lakehouse: LakehouseResource, prices: PriceListResource
    ) -> MaterializeResult:
        try:
            price_list = prices.load()
        except PriceFileError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        warehouse = lakehouse.open()
        summary = {
            "dagster-run-id": context.run_id,
            "analytics.code-version": code_version(),
            "analytics.prices_digest": prices.digest,
        }
        publish_prices(warehouse, price_list, summary)
        refresh_views(context, warehouse, lakehouse.local_path, [MODEL_PRICES])
        context.log.info(f"model_prices: {price_list.num_rows} prices from {prices.path}")
        return MaterializeResult(
            data_version=DataVersion(prices.digest),
            metadata={
                "path": MetadataValue.path(prices.path),
                "dagster/row_count": MetadataValue.int(price_list.num_rows),
                "preview": preview_table(price_list),
            },
        )

    return model_prices
