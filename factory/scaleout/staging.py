"""Where a Ray job writes its results before they are ingested: fresh folders inside the store.

Layout: ``<store>/<table>/ray/<run_key16>/<time>-<uuid>/*.parquet``. Every job writes to a new folder
(Ray appends to existing ones, so a re-used folder would hold a row twice). The run key ties the folders
to one config: a re-run after the driver died first ingests what its predecessors left there, so it
generates only what is still missing. Files a killed job left half-written have no Parquet footer and
are skipped. The folders are removed once a version holding their rows is committed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from factory.store import Store


class Staging:
    def __init__(self, store: Store, table: str, run_key: str):
        self.store = store
        self.root = store.path(table, "ray", run_key[:16])
        self.local = isinstance(store.fs, LocalFileSystem)

    def fresh(self) -> str:
        """A new, empty folder for one job (an absolute path or a store URL every node can reach)."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        folder = f"{self.root}/{stamp}-{uuid.uuid4().hex[:8]}"
        self.store.fs.makedirs(folder, exist_ok=True)
        return os.path.abspath(folder) if self.local else folder

    @property
    def filesystem(self):
        """The pyarrow filesystem Ray writes through (None: local paths)."""
        return None if self.local else self.store.arrow_fs

    def files(self, folder: str | None = None) -> list[str]:
        """Parquet files of one job folder, or of every job of this run key, oldest job first."""
        fs = self.store.fs
        base = folder or self.root
        if not fs.exists(base):
            return []
        return sorted(path for path in fs.find(base) if path.endswith(".parquet"))

    def tables(self, paths: list[str]) -> Iterator[pa.Table]:
        """The readable result tables among ``paths`` (see :meth:`read`), in order."""
        for path in paths:
            table = self.read(path)
            if table is not None:
                yield table

    def read(self, path: str) -> pa.Table | None:
        """A result file, or None when it is incomplete (a job killed while writing it)."""
        try:
            return pq.read_table(path, filesystem=self.store.arrow_fs)
        except (OSError, pa.ArrowInvalid):
            return None

    def clear(self) -> None:
        """Remove this run key's folders (and the ``ray`` folder when no other run key has any)."""
        fs = self.store.fs
        if fs.exists(self.root):
            fs.rm(self.root, recursive=True)
        parent = self.root.rsplit("/", 1)[0]
        try:
            if fs.exists(parent) and not fs.ls(parent):
                fs.rm(parent, recursive=True)
        except OSError:
            pass  # another run is writing there
