"""How a report section reads in a terminal or a web page: cell text, and the layout shown for a section.

The report keeps tidy tables (one row per group and bin, easy to query and chart); for reading, the
think-length histogram is shown with one row per bin and one column per problem type.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

NULL = "∅"


def format_value(value, *, max_chars: int = 120) -> str:
    """Integers with thousands separators, floats to 4 significant digits, long text cut, null as ∅."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= max_chars else text[:max_chars - 3] + "..."


def display_table(name: str, table: pa.Table) -> pa.Table:
    """The section as shown: ``think_length_hist`` pivoted to bins x problem types (plus ``all``)."""
    if name != "think_length_hist" or table.num_rows == 0:
        return table
    frame = pl.from_arrow(table)
    types = sorted(frame["problem_type"].unique().to_list())
    wide = (frame.pivot(on="problem_type", index=["bin_start", "bin_end"], values="rollouts")
            .sort("bin_start"))
    wide = wide.with_columns(pl.col(types).fill_null(0)).with_columns(all=pl.sum_horizontal(types))
    wide = wide.select(["bin_start", "bin_end", "all", *types])
    return wide.to_arrow()


def is_numeric(field: pa.Field) -> bool:
    return pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
