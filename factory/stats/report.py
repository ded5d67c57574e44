"""The standard CoT-quality report (SPEC section 3, ``factory stats``): presets run over one store snapshot.

:func:`compute_report` runs each report preset once inside DuckDB over the store's views and keeps the
small aggregated Arrow tables; :func:`print_report` shows them in a terminal and :func:`write_html`
writes them, with charts, as one self-contained web page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from factory.errors import StoreError
from factory.query import connect
from factory.stats.display import display_table, format_value, is_numeric
from factory.stats.html import render_html
from factory.stats.presets import PRESETS, REPORT_COLUMNS
from factory.store import Store
from schemas import TABLES


@dataclass
class StatsReport:
    """One snapshot of the store's figures: a small Arrow table per section (named after its preset)."""

    store: str
    """The store the figures come from."""
    versions: dict[str, str | None]
    """Table -> version id the figures were computed on (None: the table has no version yet)."""
    created_at: str
    """When the report was computed (UTC, ISO 8601)."""
    overview: pa.Table
    quality_by_type: pa.Table
    consistency_by_type: pa.Table
    think_length_hist: pa.Table
    pass_rate_hist: pa.Table
    judge_failures: pa.Table
    pairs_by_type: pa.Table
    judge_agreement: pa.Table

    def sections(self) -> list[tuple[str, str, pa.Table]]:
        """``(name, description, table)`` per section, in report order."""
        return [(name, PRESETS[name].description, getattr(self, name)) for name in REPORT_SECTIONS]


REPORT_SECTIONS = ("overview", "quality_by_type", "consistency_by_type", "think_length_hist", "pass_rate_hist",
                   "judge_failures", "pairs_by_type", "judge_agreement")


def compute_report(store: Store, versions: dict[str, str] | None = None) -> StatsReport:
    """Run the report presets over ``store`` (latest versions unless ``versions`` names some).

    Works on an empty store and on stores where only some stages have run (their sections are empty).
    """
    used = {}
    for name in TABLES:
        manifest = store.resolve(name, (versions or {}).get(name))
        used[name] = manifest.id if manifest is not None else None
    con = connect(store, versions)
    tables = {}
    section = "snapshot"
    try:
        # Temporary tables shadow the views of the same name: every part file is read once, here, and
        # the presets then aggregate in memory.
        for name, columns in REPORT_COLUMNS.items():
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT {columns} FROM main.{name}")
        for section in REPORT_SECTIONS:
            tables[section] = con.sql(PRESETS[section].sql).to_arrow_table()
    except duckdb.Error as exc:
        raise StoreError(f"stats {section} failed on store {store.url}: {str(exc).splitlines()[0]}; "
                         "check the store with `factory versions --check`") from None
    finally:
        con.close()
    return StatsReport(store=store.url, versions=used,
                       created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), **tables)


def print_report(report: StatsReport, console: Console, *, max_rows: int = 50) -> None:
    """Each section as a rich table (first ``max_rows`` rows), headed by the versions it describes."""
    versions = ", ".join(f"{t}@{v}" if v else f"{t}: none" for t, v in report.versions.items())
    console.print(f"[bold]factory stats[/bold]  {report.store}  ({versions})", soft_wrap=True)
    for name, description, table in report.sections():
        if table.num_rows == 0:
            console.print(f"[bold]{name}[/bold]: no rows yet ({description})", soft_wrap=True)
            continue
        table = display_table(name, table)
        grid = Table(title=name, caption=description, title_justify="left", caption_justify="left")
        for field in table.schema:
            grid.add_column(field.name, justify="right" if is_numeric(field) else "left", overflow="fold")
        for row in table.slice(0, max_rows).to_pylist():
            grid.add_row(*[format_value(v) for v in row.values()])
        console.print(grid)
        if table.num_rows > max_rows:
            console.print(f"({table.num_rows} rows, first {max_rows} shown)")


def write_html(report: StatsReport, path: str | Path) -> Path:
    """Write the report as one self-contained HTML page (inline CSS and SVG; nothing fetched) at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(render_html(report), encoding="utf-8")
    temporary.replace(path)
    return path
