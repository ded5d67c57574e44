"""The stats report as one self-contained HTML page: inline CSS, inline SVG charts, the section tables.

Nothing is fetched when the page opens (no scripts, web fonts or images from elsewhere), so it can be
mailed, attached to a run or opened on an offline cluster node. Chart ids are stable:
``chart-quality-rates``, ``chart-think-length``, ``chart-pass-rate``, ``chart-consistency``, ``chart-pairs``.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import pyarrow as pa

from factory.stats.display import display_table, format_value, is_numeric
from factory.stats.presets import PASS_RATE_BINS
from factory.stats.svg import Series, bar_chart

if TYPE_CHECKING:
    from factory.stats.report import StatsReport

MAX_TABLE_ROWS = 500

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1f2328; background: #ffffff; }
header { padding: 20px 32px 8px; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 28px 0 4px; }
main { padding: 0 32px 40px; max-width: 1120px; }
.meta { color: #57606a; margin: 2px 0; }
.cards { display: flex; gap: 12px; margin: 14px 0 4px; flex-wrap: wrap; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 16px; min-width: 120px; }
.card .n { font-size: 20px; font-weight: 600; }
.card .label { color: #57606a; }
figure { margin: 18px 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption span { font-weight: 400; color: #57606a; }
svg.chart text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #1f2328; }
svg.chart .grid { stroke: #eaeef2; }
svg.chart .axis { stroke: #8c959f; }
svg.chart .note { fill: #8c959f; font-size: 14px; }
svg.chart .axis-label { fill: #57606a; }
p.desc { color: #57606a; margin: 0 0 8px; }
.scroll { overflow-x: auto; max-width: 100%; }
table.stats { border-collapse: collapse; font-size: 12.5px; margin-bottom: 6px; }
table.stats th, table.stats td { border-bottom: 1px solid #eaeef2; padding: 3px 10px; text-align: left; }
table.stats th { background: #f6f8fa; position: sticky; top: 0; }
table.stats td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty-note { color: #8c959f; font-style: italic; }
"""


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _group_label(problem_type: str, iteration) -> str:
    return problem_type if iteration is None else f"{problem_type} (it {iteration})"


def quality_chart(report: "StatsReport") -> str:
    rows = [r for r in _rows(report.quality_by_type) if r["rollouts"]]
    measures = [("accuracy", "accuracy"), ("format_rate", "format"), ("truncation_rate", "truncation"),
                ("repetition_rate", "repetition"), ("reflection_rate", "reflection")]
    return bar_chart("chart-quality-rates", [_group_label(r["problem_type"], r["iteration"]) for r in rows],
                     [Series(label, [r[column] for r in rows]) for column, label in measures],
                     y_max=1.0, percent=True, y_label="share of ok rollouts", title="rollout quality rates")


def think_length_chart(report: "StatsReport") -> str:
    rows = _rows(report.think_length_hist)
    closed = [r for r in rows if r["bin_end"] is not None]
    if not closed:
        return bar_chart("chart-think-length", [], [], title="think length histogram")
    width = closed[0]["bin_end"] - closed[0]["bin_start"]
    starts = range(0, max(r["bin_start"] for r in rows) + width, width)
    open_start = max((r["bin_start"] for r in rows if r["bin_end"] is None), default=None)
    types = sorted({r["problem_type"] for r in rows})
    counts = {(r["problem_type"], r["bin_start"]): r["rollouts"] for r in rows}
    labels = [f"≥{s}" if s == open_start else str(s) if width == 1 else f"{s}–{s + width - 1}" for s in starts]
    series = [Series(t, [counts.get((t, s), 0) for s in starts]) for t in types]
    return bar_chart("chart-think-length", labels, series, stacked=True, x_label="think tokens",
                     y_label="ok rollouts", title="think length histogram")


def pass_rate_chart(report: "StatsReport") -> str:
    rows = [r for r in _rows(report.pass_rate_hist) if r["problem_type"] != "all" and r["questions"]]
    series = [Series(r["problem_type"], [r[b] for b in PASS_RATE_BINS]) for r in rows]
    return bar_chart("chart-pass-rate", list(PASS_RATE_BINS), series, stacked=True,
                     x_label="pass rate (mean accuracy of a question's ok rollouts)", y_label="questions",
                     title="pass-rate histogram")


def consistency_chart(report: "StatsReport") -> str:
    rows = [r for r in _rows(report.consistency_by_type) if r["consistency_rate"] is not None]
    groups = list(dict.fromkeys(_group_label(r["problem_type"], r["iteration"]) for r in sorted(
        rows, key=lambda r: (r["problem_type"], r["iteration"] is not None, r["iteration"] or 0))))
    verifiers = list(dict.fromkeys(r["verifier"] for r in rows))
    rate = {(r["verifier"], _group_label(r["problem_type"], r["iteration"])): r["consistency_rate"] for r in rows}
    series = [Series(v, [rate.get((v, g)) for g in groups]) for v in verifiers]
    return bar_chart("chart-consistency", groups, series, y_max=1.0, percent=True,
                     y_label="consistent among ok verdicts", title="consistency rate by problem type per judge")


def pairs_chart(report: "StatsReport") -> str:
    rows = _rows(report.pairs_by_type)
    pair_types = list(dict.fromkeys(r["pair_type"] for r in rows))
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    counts = {(r["policy"], r["pair_type"]): r["pairs"] for r in rows}
    series = [Series(p, [counts.get((p, t), 0) for t in pair_types]) for p in policies]
    return bar_chart("chart-pairs", pair_types, series, y_label="pairs", title="pairs by type per policy")


CHARTS = (
    ("chart-quality-rates", "Rollout quality", "rates among ok rollouts per problem type (and iteration)",
     quality_chart),
    ("chart-think-length", "Think length", "ok rollouts by think tokens, stacked by problem type",
     think_length_chart),
    ("chart-pass-rate", "Pass rate", "questions by the share of their rollouts that were accurate",
     pass_rate_chart),
    ("chart-consistency", "Consistency", "judge verdicts saying the reasoning reaches the answer given",
     consistency_chart),
    ("chart-pairs", "Pairs", "preference pairs by type, per pair policy", pairs_chart),
)


def _table_html(name: str, table: pa.Table) -> str:
    if table.num_rows == 0:
        return f'<p class="empty-note" id="table-{escape(name)}">no rows yet</p>'
    table = display_table(name, table)
    numeric = [is_numeric(f) for f in table.schema]
    head = "".join(f"<th>{escape(c)}</th>" for c in table.column_names)
    body = []
    for row in table.slice(0, MAX_TABLE_ROWS).to_pylist():
        cells = "".join(f'<td class="num">{escape(format_value(v))}</td>' if num
                        else f"<td>{escape(format_value(v))}</td>" for v, num in zip(row.values(), numeric))
        body.append(f"<tr>{cells}</tr>")
    more = (f'<p class="desc">{table.num_rows:,} rows, first {MAX_TABLE_ROWS} shown; '
            f'<code>factory query --preset {escape(name)}</code> gives them all</p>'
            if table.num_rows > MAX_TABLE_ROWS else "")
    return (f'<div class="scroll"><table class="stats" id="table-{escape(name)}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{more}')


def render_html(report: "StatsReport") -> str:
    """The whole page as text."""
    counts = {r["table"]: r["rows"] for r in report.overview.to_pylist()}
    cards = "".join(f'<div class="card"><div class="n">{counts.get(t, 0):,}</div><div class="label">{escape(t)}'
                    f'{"@" + escape(v) if v else ""}</div></div>' for t, v in report.versions.items())
    figures = "".join(f'<figure id="figure-{cid[6:]}"><figcaption>{escape(title)} <span>{escape(caption)}'
                      f'</span></figcaption>{build(report)}</figure>' for cid, title, caption, build in CHARTS)
    sections = "".join(f'<section id="section-{escape(name)}"><h2>{escape(name)}</h2>'
                       f'<p class="desc">{escape(description)}</p>{_table_html(name, table)}</section>'
                       for name, description, table in report.sections())
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>factory stats: {escape(report.store)}</title><style>{_CSS}</style></head><body>"
            f'<header><h1>CoT-quality report</h1><p class="meta">store <code>{escape(report.store)}</code>'
            f" · computed {escape(report.created_at)}</p>"
            f'<div class="cards">{cards}</div></header>'
            f'<main><section id="charts">{figures}</section>{sections}</main></body></html>\n')
