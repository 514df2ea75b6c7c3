"""Bar charts drawn on the server as SVG geometry: no chart library, no script, nothing
fetched; a template turns the bars into `<rect>` and `<text>` elements, and a table beside each
chart holds the same figures for screen readers and copying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAR_WIDTH = 28
GAP = 10
HEIGHT = 160  # the tallest bar
LABEL_SPACE = 40  # below the bars, for the category labels
TOP_SPACE = 18  # above the tallest bar, for its count


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    baseline: int  # y of the axis
    bar_width: int = BAR_WIDTH


def bar_chart(title: str, values: Sequence[tuple[str, int]]) -> BarChart:
    """Bars for (label, count) pairs in the given order, scaled to the largest count."""
    largest = max((count for _, count in values), default=0) or 1
    baseline = TOP_SPACE + HEIGHT
    bars = []
    for number, (label, count) in enumerate(values):
        height = round(HEIGHT * count / largest)
        bars.append(Bar(label, count, GAP + number * (BAR_WIDTH + GAP), baseline - height, height))
    width = max(GAP + len(values) * (BAR_WIDTH + GAP), 200)
    return BarChart(title, tuple(bars), width, baseline + LABEL_SPACE, baseline)
