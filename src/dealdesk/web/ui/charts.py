"""Chart geometry for server-rendered SVG: where each bar, tick and point goes, in the chart's own units.

No language and no markup here. Callers hand over labels already written in the visitor's language; the templates
(templates/win_loss/_charts.html) draw the shapes and put the text in. Every chart has a table of the same numbers
next to it, so the drawing only has to be clear, not complete."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Format = Callable[[Decimal], str]
LABEL_ROOM = 66
"""Width a category label under a column needs (a month such as "Sep 2026" or "2026年9月")."""


@dataclass(frozen=True)
class Series:
    """One kind of bar: its CSS class (colour) and its values, one per category (None: nothing to draw)."""

    key: str
    name: str
    values: Sequence[Decimal | None]


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Bar:
    key: str
    x: float
    y: float
    width: float
    height: float
    label: str
    """The value as written in the visitor's language, drawn next to the bar."""
    title: str
    """What a pointer resting on the bar shows: category, series and value."""


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str
    after_gap: bool = False
    """The category before this one had no value: the line starts again here rather than bridging the gap."""


@dataclass(frozen=True)
class Plot:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class ColumnChart:
    """Columns per category (e.g. month), grouped by series, on a value axis at the left; optionally a line of
    fractions (0 to 1) on a percentage axis at the right."""

    width: float
    height: float
    plot: Plot
    value_ticks: list[Tick]
    categories: list[Tick]
    bars: list[Bar]
    line: list[Point] = field(default_factory=list)
    line_ticks: list[Tick] = field(default_factory=list)
    label_every: int = 1
    """Draw every n-th category label, so long ranges stay readable."""

    @property
    def line_path(self) -> str:
        """SVG path data through the points; a category without a fraction breaks the line."""
        return " ".join(f"{'M' if i == 0 or p.after_gap else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.line))


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float
    """Middle of the row."""
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row per category, grouped by series; categories are named at the left."""

    width: float
    height: float
    plot: Plot
    rows: list[BarRow]
    ticks: list[Tick]


def nice_scale(largest: Decimal, *, whole: bool, most: int = 5) -> tuple[Decimal, Decimal]:
    """An axis maximum at or above `largest`, in at most `most` round steps (1, 2, 2.5 or 5 times a power of ten).
    Counts (`whole`) never get fractional steps; an empty axis still gets a scale."""
    if largest <= 0:
        return Decimal(1), Decimal(1)
    power = Decimal(10) ** math.floor(math.log10(largest / most))
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10), Decimal(20)):
        step = factor * power
        if whole and (step < 1 or step != step.to_integral_value()):
            continue
        if step == step.to_integral_value():
            step = step.quantize(Decimal(1))
        intervals = math.ceil(largest / step)
        if intervals <= most:
            return step * intervals, step
    raise AssertionError("a step of 20 powers of ten always fits")  # pragma: no cover


def _ticks(top: Decimal, step: Decimal, position: Callable[[Decimal], float], label: Format) -> list[Tick]:
    count = int(top / step)
    return [Tick(position(step * i), label(step * i)) for i in range(count + 1)]


def column_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_label: Format,
    axis_label: Format,
    whole: bool,
    line: Sequence[Decimal | None] | None = None,
    line_label: Format | None = None,
    line_name: str = "",
    width: float = 960,
    height: float = 300,
) -> ColumnChart:
    """Grouped columns; `value_label` writes a value on its bar's tooltip, `axis_label` on the axis."""
    plot = Plot(left=64, top=16, right=width - (56 if line is not None else 16), bottom=height - 36)
    largest = max((v for s in series for v in s.values if v is not None), default=Decimal(0))
    top, step = nice_scale(largest, whole=whole)

    def y_of(value: Decimal) -> float:
        return plot.bottom - float(value / top) * plot.height

    slot = plot.width / max(len(categories), 1)
    group = min(slot * 0.72, 44 * len(series))
    bar_width = group / max(len(series), 1)
    bars = []
    for index, category in enumerate(categories):
        start = plot.left + slot * index + (slot - group) / 2
        for position, one in enumerate(series):
            value = one.values[index]
            if value is None:
                continue
            y = y_of(value)
            bars.append(
                Bar(
                    key=one.key,
                    x=start + bar_width * position,
                    y=y,
                    width=bar_width * 0.92,
                    height=plot.bottom - y,
                    label=value_label(value),
                    title=f"{category} · {one.name}: {value_label(value)}",
                )
            )
    points: list[Point] = []
    line_ticks: list[Tick] = []
    if line is not None and line_label is not None:
        gap = False
        for index, (category, fraction) in enumerate(zip(categories, line, strict=True)):
            if fraction is None:
                gap = True
                continue
            x = plot.left + slot * index + slot / 2
            y = plot.bottom - float(fraction) * plot.height
            points.append(Point(x, y, f"{category} · {line_name}: {line_label(fraction)}", after_gap=gap))
            gap = False
        line_ticks = [Tick(plot.bottom - plot.height * i / 4, line_label(Decimal(i) / 4)) for i in range(5)]
    labels = [Tick(plot.left + slot * i + slot / 2, name) for i, name in enumerate(categories)]
    return ColumnChart(
        width=width,
        height=height,
        plot=plot,
        value_ticks=_ticks(top, step, y_of, axis_label),
        categories=labels,
        bars=bars,
        line=points,
        line_ticks=line_ticks,
        label_every=max(1, math.ceil(len(categories) * LABEL_ROOM / plot.width)),
    )


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_label: Format,
    axis_label: Format,
    whole: bool,
    width: float = 400,
    label_width: float = 140,
    row_height: float = 34,
) -> BarChart:
    """Horizontal grouped bars with the value written at the end of each bar."""
    bar_height = (row_height - 10) / max(len(series), 1)
    plot = Plot(left=label_width, top=8, right=width - 72, bottom=8 + row_height * max(len(categories), 1))
    largest = max((v for s in series for v in s.values if v is not None), default=Decimal(0))
    top, step = nice_scale(largest, whole=whole)

    def x_of(value: Decimal) -> float:
        return plot.left + float(value / top) * plot.width

    rows = []
    for index, category in enumerate(categories):
        row_top = plot.top + row_height * index + 5
        bars = []
        for position, one in enumerate(series):
            value = one.values[index]
            if value is None:
                continue
            written = value_label(value)
            bars.append(
                Bar(
                    key=one.key,
                    x=plot.left,
                    y=row_top + bar_height * position,
                    width=max(x_of(value) - plot.left, 0),
                    height=bar_height * 0.86,
                    label=written,
                    title=f"{category} · {one.name}: {written}" if one.name else f"{category}: {written}",
                )
            )
        rows.append(BarRow(label=category, y=plot.top + row_height * index + row_height / 2, bars=bars))
    return BarChart(
        width=width,
        height=plot.bottom + 26,
        plot=plot,
        rows=rows,
        ticks=_ticks(top, step, x_of, axis_label),
    )
