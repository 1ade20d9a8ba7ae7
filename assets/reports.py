"""HTML reports per as-of date: one self-contained page per organisation, and an index.

A report shows each organisation on its own calendar: it compares its trailing window of
local days with the window before through the catalog's macros, so it reads the local
tables of both windows, and the anomalies and data quality (by UTC day) of its window,
declared with `TimeWindowPartitionMapping` as in `assets/insights.py`: a re-run of a
partition marks the reports that show it stale. The as-of date's own local day waits for
the next UTC day, as the local tables do (`assets/timezones.py`); until then the report
says so and shows that day as unknown.
"""

import base64
import datetime as dt
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.insights import trailing_days
from assets.metadata import OWNERS, preview_table
from assets.partitions import Partitioning, partition_days
from assets.publishing import PROGRESS
from assets.resources import LakehouseResource
from warehouse.engine import release_compute_memory
from warehouse.reports import COMPARED, REPORT_DAYS, WINDOWED, ReportFolder, write_reports

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PREVIEW_SIZE = (560, 180)  # pixels
PREVIEW_UNIT = "messages"


def preview_figure(days: Sequence[dt.date], messages: Sequence[float | None]) -> "Figure":
    """Messages per day on a zero-based axis that names its unit, dates below; an unknown
    day (a local day not computed yet) is a gap."""
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    dpi = 100
    figure = Figure(figsize=(PREVIEW_SIZE[0] / dpi, PREVIEW_SIZE[1] / dpi), dpi=dpi)
    axes = figure.add_subplot()
    axes.plot(list(days), list(messages), color="#2563eb", linewidth=1.5)
    axes.set_ylim(0, 1.1 * max((m for m in messages if m is not None), default=0) or 1)
    axes.set_ylabel(PREVIEW_UNIT, fontsize=8)
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.xaxis.set_major_formatter(DateFormatter("%b %d"))
    axes.tick_params(labelsize=7)
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout(pad=0.4)
    return figure


def preview_png(days: Sequence[dt.date], messages: Sequence[float | None]) -> bytes:
    """`preview_figure` as a PNG of PREVIEW_SIZE pixels, drawn by matplotlib's Agg backend.

    The Dagster UI shows images in Markdown metadata but not the report's SVG. The figure
    is built without pyplot (no global state, safe in any thread) and its pixels are
    reduced to 16 colours by Pillow (a matplotlib dependency), so the image stays a few
    KB; the same data gives the same bytes. matplotlib is imported here, not when the
    definitions load, since only a reports run draws.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(preview_figure(days, messages))
    canvas.draw()
    pixels = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    output = io.BytesIO()
    pixels.convert("RGB").quantize(colors=16).save(output, format="PNG", optimize=True)
    return output.getvalue()


def _preview(folder: ReportFolder) -> str:
    """Messages per day of the busiest organisation's report, as Markdown with a PNG."""
    busiest = max(
        folder.reports, key=lambda report: sum(d["total_messages"] or 0 for d in report.days)
    )
    days = [day["date"] for day in busiest.days]
    messages = [day["total_messages"] for day in busiest.days]
    image = base64.b64encode(preview_png(days, messages)).decode()
    return (
        f"**Messages per day**, organisation `{busiest.organization_id}`,"
        f" {days[0]} to {busiest.last_day} ({busiest.timezone})\n\n"
        f"![messages per day](data:image/png;base64,{image})"
    )


def _metadata(folder: ReportFolder) -> dict[str, MetadataValue]:
    sizes = pa.table(
        {
            "file": sorted(folder.sizes),
            "kilobytes": [round(folder.sizes[name] / 1024, 1) for name in sorted(folder.sizes)],
        }
    )
    metadata = {
        "path": MetadataValue.path(str(folder.path)),
        "report_count": MetadataValue.int(len(folder.reports)),
        "total_bytes": MetadataValue.int(sum(folder.sizes.values())),
        "report_sizes": preview_table(sizes, rows=len(folder.sizes)),
    }
    if folder.reports:
        metadata["preview"] = MetadataValue.md(_preview(folder))
    return metadata


def build_reports_asset(partitioning: Partitioning) -> AssetsDefinition:
    @asset(
        group_name="reports",
        description=(
            f"For every as-of date: `reports/<date>/`, one offline HTML page per organisation "
            f"over its trailing {REPORT_DAYS} local days, naming its zone (period comparison "
            "with the cost beside tokens, anomalies, usage, response times, top agents, event "
            "mix, failures, data quality) and an index page."
        ),
        partitions_def=partitioning.partitions,
        backfill_policy=partitioning.backfill_policy,
        deps=[
            *(
                AssetDep(table.name, partition_mapping=trailing_days(2 * REPORT_DAYS))
                for table in COMPARED
            ),
            *(
                AssetDep(table.name, partition_mapping=trailing_days(REPORT_DAYS))
                for table in WINDOWED
            ),
        ],
        kinds={"duckdb", "html"},
        owners=OWNERS,
    )
    def reports(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        warehouse, days = lakehouse.open(), partition_days(context)
        try:
            written = write_reports(
                warehouse,
                lakehouse.local_path,
                days,
                lambda done: context.log.info(PROGRESS.format(done=done, total=len(days))),
            )
        finally:
            release_compute_memory()  # as every step does (assets/publishing.py)
        context.log.info(
            f"wrote {written.folder_count} report folders under {written.newest.path.parent}"
        )
        return MaterializeResult(metadata=_metadata(written.newest))

    return reports
