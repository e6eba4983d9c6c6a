"""Horizontal bar charts for the bulletin: inline SVG for HTML, block-character bars for .docx."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_COLOUR = "#2f6db5"


def svg_bars(
    title: str, items: Sequence[tuple[str, float, str]], *, maximum: float, width: int = 640
) -> str:
    """An SVG bar chart; ``items`` are (label, value, value text)."""
    row, label_width, top = 28, 170, 36
    bar_space = width - label_width - 80
    height = top + row * max(len(items), 1) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 14}">(无数据)</text>')
    for index, (label, value, text) in enumerate(items):
        y = top + index * row
        length = 0 if maximum <= 0 else round(bar_space * max(value, 0) / maximum, 1)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{length}" height="18" fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 6}" y="{y + 15}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def text_bar(value: float, maximum: float, *, cells: int = 30) -> str:
    """A bar of block characters (for documents without vector graphics)."""
    if maximum <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(cells * value / maximum))
