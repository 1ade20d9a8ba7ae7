"""A PNG preview of a report's main chart, rasterised in pure Python.

The Dagster UI shows images in Markdown metadata but not SVG files on disk. Drawing the
lines here (a pixel buffer, zlib and the PNG chunk format) costs milliseconds and no
dependency, where a headless browser would cost a second and a Chromium install on
every machine running the pipeline. It draws lines and gridlines only: the chart's
title and scale go in the Markdown beside the image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from itertools import pairwise

from warehouse.report_html import COLOURS

MARGIN = 6
GRID = b"\xe5\xe7\xeb"


def _png(width: int, height: int, pixels: bytearray) -> bytes:
    stride = width * 3
    # each scanline starts with its filter type, 0 (none)
    raw = b"".join(b"\x00" + pixels[row * stride : (row + 1) * stride] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def line_chart_png(
    series: Sequence[Sequence[float | None]], width: int = 560, height: int = 160
) -> bytes:
    """Each series as a 2-pixel line over a zero-based scale shared by all series."""
    pixels = bytearray(b"\xff" * width * height * 3)

    def paint(x: float, y: float, colour: bytes) -> None:
        for dx in (0, 1):
            for dy in (0, 1):
                column, row = round(x) + dx, round(y) + dy
                if 0 <= column < width and 0 <= row < height:
                    offset = (row * width + column) * 3
                    pixels[offset : offset + 3] = colour

    bottom, plot_height = height - 1 - MARGIN, height - 1 - 2 * MARGIN
    for fraction in (0, 0.5, 1):
        for x in range(MARGIN, width - MARGIN):
            paint(x, bottom - fraction * plot_height, GRID)
    top = max((value for values in series for value in values if value), default=0) or 1
    for colour, values in zip(COLOURS, series, strict=False):
        step = (width - 1 - 2 * MARGIN) / max(len(values) - 1, 1)
        points = [
            None if value is None else (MARGIN + index * step, bottom - value / top * plot_height)
            for index, value in enumerate(values)
        ]
        rgb = bytes.fromhex(colour.removeprefix("#"))
        for start, end in pairwise(points):
            if start is None or end is None:
                continue
            steps = max(round(abs(end[0] - start[0])), round(abs(end[1] - start[1])), 1)
            for i in range(steps + 1):
                paint(
                    start[0] + (end[0] - start[0]) * i / steps,
                    start[1] + (end[1] - start[1]) * i / steps,
                    rgb,
                )
    return _png(width, height, pixels)
