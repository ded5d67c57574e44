"""Versioned Parquet store (SPEC section 3)."""

from factory.store.manifest import Manifest, ParentRef, PartInfo
from factory.store.store import Store, default_store_path
from factory.store.writer import MODES, TableWriter, run_key_for

__all__ = ["Manifest", "ParentRef", "PartInfo", "Store", "default_store_path", "MODES", "TableWriter",
           "run_key_for"]
