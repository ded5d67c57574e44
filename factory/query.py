"""Read-only SQL over a store: DuckDB with one view per table (SPEC section 3)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from factory.errors import ReadOnlyQuery, UsageError, VersionNotFound
from factory.store import Store
from schemas import TABLES

_ALLOWED = {"SELECT", "EXPLAIN"}


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT/EXPLAIN (no COPY, ATTACH, CREATE, SET, INSTALL, ...)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"SQL does not parse: {exc}") from None
    if not statements:
        raise UsageError("no SQL statement given")
    for statement in statements:
        kind = statement.type.name
        if kind not in _ALLOWED:
            raise ReadOnlyQuery(f"factory query is read-only: {kind} statements are refused "
                                f"({statement.query.strip()[:60]!r}); use SELECT, and --output to save results")


def connect(store: Store, versions: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table (latest version unless ``versions`` names one).

    Tables without a version get an empty view with the right columns. The connection can read only
    the store's folder, cannot write files, and its settings are locked.
    """
    versions = dict(versions or {})
    unknown = set(versions) - set(TABLES)
    if unknown:
        raise UsageError(f"--version names unknown table(s) {sorted(unknown)}; tables: {', '.join(TABLES)}")
    con = duckdb.connect(":memory:")
    for name, spec in TABLES.items():
        manifest = store.resolve(name, versions.get(name))
        files = store.part_paths(manifest)
        if files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}], union_by_name=true)")
        else:
            con.register(f"_empty_{name}", spec.schema.empty_table())
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _empty_{name}")
    root = str(Path(store.root).resolve()) if not store.url.count("://") else store.url
    con.execute(f"SET allowed_directories=['{root.rstrip('/')}/']")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con


def parse_versions(items: list[str] | None) -> dict[str, str]:
    """``["rollouts=3", "prompts=0001-ab12"]`` -> ``{"rollouts": "3", ...}``."""
    out = {}
    for item in items or []:
        table, sep, ref = item.partition("=")
        if not sep or not ref:
            raise UsageError(f"--version expects TABLE=VERSION, got {item!r}")
        out[table.strip()] = ref.strip()
    return out


def run_query(store: Store, sql: str, versions: dict[str, str] | None = None) -> pa.Table:
    """Run read-only ``sql`` and return the result as Arrow."""
    check_read_only(sql)
    con = connect(store, versions)
    try:
        return con.sql(sql).to_arrow_table()
    except VersionNotFound:
        raise
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


def write_result(result: pa.Table, fmt: str, output: str) -> None:
    """Save a query result as csv, json (one object per line) or parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "csv":
        pacsv.write_csv(result, output)
    elif fmt == "parquet":
        pq.write_table(result, output)
    elif fmt == "json":
        import json

        with open(output, "w") as handle:
            for row in result.to_pylist():
                handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    else:
        raise UsageError(f"unknown output format {fmt!r}; use csv, json or parquet")
