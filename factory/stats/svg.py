"""Bar charts as inline SVG text: no scripts, no fonts to fetch, so the page renders anywhere offline.

Every chart is ``<svg class="chart" id="chart-...">``; every bar is ``<rect class="bar">`` carrying
``data-series``, ``data-category`` and ``data-value`` and a ``<title>`` tooltip. A chart without data is
``<svg class="chart empty">`` with a note instead of bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
WIDTH = 760
HEIGHT = 340
_LEFT, _RIGHT, _TOP_PAD = 64, 16, 12
_CHAR_W = 6.6  # rough width of a 11px sans-serif character, for layout only


@dataclass(frozen=True)
class Series:
    """One coloured set of bars: a value (or None for no bar) per category."""

    name: str
    values: list[float | None]


def _attr(value) -> str:
    return escape(str(value), quote=True)


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _fmt_tick(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:g}"


def _fmt_value(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}"


def _legend(series: list[Series], width: float) -> tuple[list[str], float]:
    """Legend items laid out in rows across the top; returns the SVG parts and the height used."""
    parts, x, y = [], float(_LEFT), 14.0
    for index, s in enumerate(series):
        item_w = 18 + _CHAR_W * len(s.name) + 14
        if x + item_w > width - _RIGHT and x > _LEFT:
            x, y = float(_LEFT), y + 18
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<g class="legend-item" data-series="{_attr(s.name)}">'
                     f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="11" height="11" fill="{colour}"/>'
                     f'<text x="{x + 16:.1f}" y="{y + 1:.1f}">{escape(s.name)}</text></g>')
        x += item_w
    return parts, (y + 10 if series else 0)


def bar_chart(chart_id: str, categories: list[str], series: list[Series], *, stacked: bool = False,
              y_max: float | None = None, percent: bool = False, x_label: str = "", y_label: str = "",
              title: str = "") -> str:
    """A grouped (or stacked) bar chart of ``series`` over ``categories`` as an ``<svg>`` element.

    ``y_max`` fixes the axis top (1.0 for rates); otherwise it is a round number above the tallest bar.
    """
    values = [v for s in series for v in s.values if v is not None]
    label = f' aria-label="{_attr(title)}"' if title else ""
    if not categories or not values:
        return (f'<svg class="chart empty" id="{_attr(chart_id)}" role="img"{label} '
                f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="80" viewBox="0 0 {WIDTH} 80">'
                f'<text class="note" x="{_LEFT}" y="44">no data yet</text></svg>')
    legend, legend_h = _legend(series, WIDTH) if len(series) > 1 else ([], 0.0)
    top = _TOP_PAD + legend_h + 8
    longest = max(len(c) for c in categories)
    rotate = len(categories) > 8 or longest > 12
    shown = [c if len(c) <= 24 else c[:23] + "…" for c in categories]
    # a label turned 40 degrees drops by about 0.64 of its length
    bottom = (26 + _CHAR_W * 0.8 * min(longest, 24) * 0.64 if rotate else 34) + (18 if x_label else 0)
    height = HEIGHT + legend_h
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, height - top - bottom

    if stacked:
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
        peak = max(totals)
    else:
        peak = max(values)
    if y_max is None:
        step = _nice_step(peak if peak > 0 else 1)
        y_max = max(step, math.ceil(peak / step) * step)
    else:
        step = _nice_step(y_max, 4)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - min(value, y_max) / y_max)

    parts = [f'<svg class="chart" id="{_attr(chart_id)}" role="img"{label} xmlns="http://www.w3.org/2000/svg" '
             f'width="{WIDTH}" height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}">']
    parts += legend
    # horizontal grid lines with their tick labels
    tick, ticks = 0.0, []
    while tick <= y_max + step * 1e-9:
        ticks.append(tick)
        tick += step
    for value in ticks:
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{_fmt_tick(value, percent)}</text>')
    band = plot_w / len(categories)
    inner = band * 0.76
    for i, category in enumerate(categories):
        left = _LEFT + band * i + (band - inner) / 2
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            colour = PALETTE[j % len(PALETTE)]
            if stacked:
                x, w, y_top, y_bottom = left, inner, y_of(base + value), y_of(base)
                base += value
            else:
                w = inner / len(series)
                x, y_top, y_bottom = left + w * j, y_of(value), y_of(0)
            tip = f"{s.name} · {category}: {_fmt_value(value, percent)}"
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y_top:.1f}" width="{max(w - 1, 1):.1f}" '
                         f'height="{max(y_bottom - y_top, 0):.1f}" fill="{colour}" data-series="{_attr(s.name)}" '
                         f'data-category="{_attr(category)}" data-value="{value:g}">'
                         f'<title>{escape(tip)}</title></rect>')
        cx, cy = _LEFT + band * (i + 0.5), top + plot_h + 14
        if rotate:
            parts.append(f'<text class="category" x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" '
                         f'transform="rotate(-40 {cx:.1f} {cy:.1f})">{escape(shown[i])}</text>')
        else:
            parts.append(f'<text class="category" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle">'
                         f'{escape(shown[i])}</text>')
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{top + plot_h:.1f}" '
                 f'y2="{top + plot_h:.1f}"/>')
    if x_label:
        parts.append(f'<text class="axis-label" x="{_LEFT + plot_w / 2:.1f}" y="{height - 6:.1f}" '
                     f'text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        mid = top + plot_h / 2
        parts.append(f'<text class="axis-label" x="14" y="{mid:.1f}" text-anchor="middle" '
                     f'transform="rotate(-90 14 {mid:.1f})">{escape(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
