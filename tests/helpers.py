"""Test helpers: complete rows for any table, built from the schema so every column is exercised."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from schemas import table_spec

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
DATA = Path(__file__).resolve().parent.parent / "data"


def load_data_module(name: str):
    """Import ``data/<name>.py`` by path: ``data/`` is a folder of scripts, not an installed package."""
    module_name = f"veripo_data_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def value_for(field: pa.Field, index: int):
    t = field.type
    if pa.types.is_string(t):
        return f"{field.name}-{index}"
    if pa.types.is_integer(t):
        return index
    if pa.types.is_floating(t):
        return index + 0.5
    if pa.types.is_boolean(t):
        return index % 2 == 0
    if pa.types.is_timestamp(t):
        return NOW
    if pa.types.is_list(t):
        return [value_for(pa.field(field.name, t.value_type), index), value_for(pa.field(field.name, t.value_type), index + 1)]
    raise TypeError(t)


def full_rows(table: str, n: int, start: int = 0) -> list[dict]:
    """``n`` rows with every column set (keys ``<key>-<i>``)."""
    spec = table_spec(table)
    return [{f.name: value_for(f, i) for f in spec.schema} for i in range(start, start + n)]


def as_table(table: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=table_spec(table).schema)
