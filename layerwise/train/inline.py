"""Pictures that live inside an HTML file, drawn without matplotlib: a PNG encoder (zlib from
the standard library), data: URIs, and an SVG line chart of per-epoch curves."""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG file of 8-bit pixels: gray (H, W) or RGB (H, W, 3).

    The format: the signature, then chunks (length, type, data, CRC-32 of type and data):
    IHDR (width, height, bit depth 8, colour type 0 gray or 2 RGB, compression, filter and
    interlace 0), IDAT (the zlib-compressed rows, each led by its filter byte, 0 for none), IEND.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (
            pixels.ndim == 3 and pixels.shape[2] != 3) or 0 in pixels.shape:
        raise ValueError(f"png_bytes: expected uint8 pixels of shape (H, W) or (H, W, 3), got "
                         f"{pixels.dtype} of shape {pixels.shape}")
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def gray_pixels(image: np.ndarray) -> np.ndarray:
    """An image of values in [0, 1] (any leading axes of size 1 dropped) as uint8 gray."""
    values = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[-2:])
    return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)


def data_uri(png: bytes) -> str:
    """`data:image/png;base64,...`: the picture inside the page, nothing to fetch."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values covering [low, high]: multiples of the step of 1, 2, 2.5, 5 or
    10 times a power of ten nearest to (high - low) / (count - 1)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        low, high = low - 0.5, high + 0.5
    rough = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(rough))
    step = min((factor * power for factor in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - rough))
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-12 * step:
        ticks.append(ticks[-1] + step)
    return [round(tick, 12) for tick in ticks]


def line_chart(title: str, epochs: Sequence[float], series: Mapping[str, Sequence[float]],
               y_label: str, width: int = 440, height: int = 280) -> str:
    """An inline <svg> of one curve per series against the epochs, with axes, round ticks, a
    legend, and each point's value in its tooltip (<title>). Non-finite values (a diverged
    loss) are left out of the curve."""
    left, right, top, bottom = 58, 12, 46, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for values in series.values() for v in values if math.isfinite(v)]
    y_ticks = nice_ticks(min(finite), max(finite)) if finite else [0.0, 1.0]
    x_low, x_high = (min(epochs), max(epochs)) if epochs else (0.0, 1.0)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    y_low, y_high = y_ticks[0], y_ticks[-1]

    def x_at(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def y_at(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    parts = [f'<svg class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{width / 2:.1f}" y="18" text-anchor="middle" class="chart-title">'
             f'{html.escape(title)}</text>']
    for tick in y_ticks:
        y = y_at(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'class="grid"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{tick:g}</text>')
    x_step = max(1, math.ceil(len(epochs) / 10))
    for x in list(epochs)[::x_step]:
        parts.append(f'<text x="{x_at(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                     f'{x:g}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
                 f'class="frame"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" '
                 f'text-anchor="middle">epoch</text>')
    parts.append(f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{html.escape(y_label)}</text>')
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = [(x, y) for x, y in zip(epochs, values, strict=False) if math.isfinite(y)]
        path = " ".join(f"{x_at(x):.1f},{y_at(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{x_at(x):.1f}" cy="{y_at(y):.1f}" r="3" '
                         f'fill="{colour}"><title>{html.escape(name)}, epoch {x:g}: {y:.4f}'
                         f'</title></circle>')
        legend_x = left + 90 * index  # in a row between the title and the plot
        parts.append(f'<line x1="{legend_x}" x2="{legend_x + 16}" y1="{top - 12}" '
                     f'y2="{top - 12}" stroke="{colour}" stroke-width="2"/>'
                     f'<text x="{legend_x + 20}" y="{top - 8}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
