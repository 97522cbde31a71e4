"""Drawing a laid-out graph as one self-contained SVG document (no fonts, scripts or links).

Boxes are sized from their text in a monospace font (a character is 0.6 em wide), so the size
of a box is known without measuring text. Values are green and gradients red, as on the
lecture slides of backpropagation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from layerwise.viz.layout import Layout

FONT_SIZE = 12.0
CHAR_WIDTH = 0.6 * FONT_SIZE  # monospace
LINE_HEIGHT = 15.0
PADDING = 6.0
COLORS = {"title": "#111111", "detail": "#555555", "value": "#1b7a2e", "grad": "#c0392b"}
FILLS = {"op": ("#e8f0fb", "#3d6fb4"), "leaf": ("#fdf6e3", "#b58900"),
         "tensor": ("#ffffff", "#888888"), "summary": ("#ffffff", "#888888")}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Box:
    """What one node shows: its kind (op, leaf, tensor: the fill) and lines of (text, style),
    where style is one of COLORS' keys; the first line is bold."""

    kind: str
    lines: tuple[tuple[str, str], ...]

    @property
    def size(self) -> tuple[float, float]:
        longest = max(len(text) for text, _ in self.lines)
        return (longest * CHAR_WIDTH + 2 * PADDING, len(self.lines) * LINE_HEIGHT + 2 * PADDING)


def escape(text: str) -> str:
    """Text safe inside an XML element or a double-quoted attribute: &, <, >, " escaped and
    the control characters XML 1.0 forbids replaced by U+FFFD."""
    text = _NOT_XML.sub("\ufffd", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def render(boxes: Sequence[Box], placed: Layout, header: Sequence[str] = (),
           footer: Sequence[str] = (), description: str = "") -> str:
    """The SVG document: `header` lines above the graph, `footer` lines below it."""
    top = len(header) * LINE_HEIGHT + (PADDING if header else 0.0)
    bottom = len(footer) * LINE_HEIGHT + (PADDING if footer else 0.0)
    text_width = max((len(line) for line in [*header, *footer]), default=0) * CHAR_WIDTH
    width = max(placed.width, text_width + 2 * PADDING)
    height = placed.height + top + bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_number(width)}" '
        f'height="{_number(height)}" viewBox="0 0 {_number(width)} {_number(height)}" '
        f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
        f'font-size="{_number(FONT_SIZE)}">',
        f"<title>{escape(description)}</title>",
        f'<rect width="{_number(width)}" height="{_number(height)}" fill="#ffffff"/>',
    ]
    for index, line in enumerate(header):
        weight = ' font-weight="bold"' if index == 0 else ""
        out.append(f'<text x="{_number(PADDING)}" y="{_number((index + 0.8) * LINE_HEIGHT)}"'
                   f'{weight}>{escape(line)}</text>')
    out.append(f'<g transform="translate(0 {_number(top)})">')
    out.append('<g fill="none" stroke="#666666" stroke-width="1.2">')
    arrows = []
    horizontal = placed.direction == "right"
    for route in placed.routes:
        out.append(f'<path d="{_curve(route, horizontal)}"/>')
        arrows.append(_arrow(route, horizontal))
    out.append("</g>")
    out.append('<g fill="#666666">' + "".join(arrows) + "</g>")
    for box, (x, y) in zip(boxes, placed.centers, strict=True):
        out.append(_box(box, x, y))
    out.append("</g>")
    for index, line in enumerate(footer):
        y = top + placed.height + PADDING + (index + 0.8) * LINE_HEIGHT
        out.append(f'<text x="{_number(PADDING)}" y="{_number(y)}" fill="{COLORS["detail"]}">'
                   f"{escape(line)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _box(box: Box, x: float, y: float) -> str:
    width, height = box.size
    fill, stroke = FILLS[box.kind]
    dash = ' stroke-dasharray="4 3"' if box.kind == "tensor" else ""
    radius = 8 if box.kind == "op" else 2
    left, top = x - width / 2, y - height / 2
    parts = [f'<g class="{box.kind}">',
             f'<rect x="{_number(left)}" y="{_number(top)}" width="{_number(width)}" '
             f'height="{_number(height)}" rx="{radius}" fill="{fill}" stroke="{stroke}"{dash}/>']
    for index, (text, style) in enumerate(box.lines):
        baseline = top + PADDING + (index + 0.78) * LINE_HEIGHT
        weight = ' font-weight="bold"' if index == 0 else ""
        parts.append(f'<text x="{_number(left + PADDING)}" y="{_number(baseline)}" '
                     f'fill="{COLORS[style]}"{weight}>{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _curve(route: Sequence[tuple[float, float]], horizontal: bool) -> str:
    """A smooth path through the points: one cubic Bézier per step, leaving and reaching each
    point along the main direction of the edges, so that chains through dummies stay smooth."""
    x0, y0 = route[0]
    path = [f"M{_number(x0)},{_number(y0)}"]
    for (ax, ay), (bx, by) in pairwise(route):
        if horizontal:
            middle = (ax + bx) / 2
            path.append(f"C{_number(middle)},{_number(ay)} {_number(middle)},{_number(by)} "
                        f"{_number(bx)},{_number(by)}")
        else:
            middle = (ay + by) / 2
            path.append(f"C{_number(ax)},{_number(middle)} {_number(bx)},{_number(middle)} "
                        f"{_number(bx)},{_number(by)}")
    return " ".join(path)


def _arrow(route: Sequence[tuple[float, float]], horizontal: bool) -> str:
    """A small triangle at the end of the route, pointing along the edges' direction."""
    x, y = route[-1]
    if horizontal:
        points = [(x, y), (x - 7, y - 3.5), (x - 7, y + 3.5)]
    else:
        points = [(x, y), (x - 3.5, y - 7), (x + 3.5, y - 7)]
    joined = " ".join(f"{_number(px)},{_number(py)}" for px, py in points)
    return f'<polygon points="{joined}"/>'
