"""Conform Arrow tables to a table contract and name every row that breaks it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas.errors import InvalidRows, RowProblem, SchemaMismatch
from schemas.tables import TableSpec


def conform(spec: TableSpec, table: pa.Table, *, source: str) -> pa.Table:
    """Return ``table`` with exactly the spec's columns, order and types.

    Missing nullable columns are added as nulls; extra columns are an error (they would be lost
    silently otherwise). Raises :class:`SchemaMismatch` naming the source and column.
    """
    extra = [name for name in table.column_names if name not in spec.schema.names]
    if extra:
        raise SchemaMismatch(f"{source}: unknown column(s) {extra} for table '{spec.name}'; "
                             f"remove them or map them to the schema (see `factory schema {spec.name}`)")
    columns = []
    for field in spec.schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type:
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaMismatch(f"{source}: column '{field.name}' has type {column.type}, expected "
                                         f"{field.type} and it cannot be cast: {exc}") from None
        elif field.nullable:
            column = pa.nulls(table.num_rows, field.type)
        else:
            raise SchemaMismatch(f"{source}: required column '{field.name}' of table '{spec.name}' is missing; "
                                 f"{spec.doc(field.name)}")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=spec.with_version_metadata())


def check_rows(spec: TableSpec, table: pa.Table, *, source: str, limit: int = 50) -> list[RowProblem]:
    """Problems with a conformed table: nulls in required columns and repeated keys (first ``limit``)."""
    problems: list[RowProblem] = []
    keys = table.column(spec.key)
    for field in spec.schema:
        if field.nullable:
            continue
        nulls = pc.is_null(table.column(field.name))
        if pc.any(nulls).as_py():
            for row in pc.indices_nonzero(nulls).to_pylist()[:limit]:
                problems.append(RowProblem(source, row, field.name, "is null but required",
                                           f"give every row a value ({spec.doc(field.name)})",
                                           row_id=keys[row].as_py()))
    counts = pc.value_counts(keys)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    for item in repeated.to_pylist()[:limit]:
        problems.append(RowProblem(source, None, spec.key, f"key {item['values']} appears {item['counts']} times",
                                   "keys must be unique within a batch", row_id=item["values"]))
    return problems


def validated(spec: TableSpec, table: pa.Table, *, source: str) -> pa.Table:
    """:func:`conform` then :func:`check_rows`; raises :class:`InvalidRows` listing the bad rows."""
    table = conform(spec, table, source=source)
    problems = check_rows(spec, table, source=source)
    if problems:
        raise InvalidRows(problems)
    return table
