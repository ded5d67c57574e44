"""A store: a directory (local path or fsspec URL) of immutable Parquet parts and version manifests.

Layout::

    <root>/<table>/parts/<run_key16>-<uuid>.parquet   immutable parts (written as .tmp, then renamed)
    <root>/<table>/versions/<seq>-<hash>.json          one manifest per dataset version
    <root>/<table>/tmp/                                 temporary names; never read

A version is exactly the parts its manifest lists. Parts not listed by any manifest are *pending*: the
work of a run that died before its manifest; the next run with the same run key adopts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import PurePosixPath

import fsspec
from fsspec.implementations.local import LocalFileSystem
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from factory.errors import StoreError, VersionNotFound
from factory.store.manifest import Manifest, PartInfo
from schemas import table_spec
from schemas.validate import conform


def default_store_path() -> str:
    """``$FACTORY_STORE``, else ``./store``."""
    return os.environ.get("FACTORY_STORE") or "store"


class Store:
    """Read and write versioned tables under one root."""

    def __init__(self, root: str | os.PathLike[str]):
        self.url = str(root)
        self.fs, path = fsspec.core.url_to_fs(self.url)
        self.root = path.rstrip("/") if path != "/" else path
        self._manifests: dict[str, list[Manifest]] = {}
        # pyarrow reads through its own filesystem layer: handing it Python file objects makes the
        # interpreter abort at exit now and then (pyarrow 26), so local stores use native paths.
        self.arrow_fs = (pafs.LocalFileSystem() if isinstance(self.fs, LocalFileSystem)
                         else pafs.PyFileSystem(pafs.FSSpecHandler(self.fs)))

    # -- paths -------------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return str(PurePosixPath(self.root, *parts))

    def local_path(self, relative: str) -> str:
        """Path of a store file as DuckDB/pyarrow should open it (a URL for remote stores)."""
        full = self.path(relative)
        return full if isinstance(self.fs, LocalFileSystem) else self.fs.unstrip_protocol(full)

    # -- versions ----------------------------------------------------------------------------------
    def versions(self, table: str) -> list[Manifest]:
        """All versions of ``table``, oldest first (cached per Store; call :meth:`refresh` after writes)."""
        table_spec(table)
        if table not in self._manifests:
            folder = self.path(table, "versions")
            found = []
            if self.fs.exists(folder):
                for entry in sorted(self.fs.ls(folder, detail=False)):
                    if entry.endswith(".json"):
                        with self.fs.open(entry, "r") as handle:
                            found.append(Manifest.from_json(handle.read()))
            found.sort(key=lambda m: (m.seq, m.created_at))
            self._manifests[table] = found
        return list(self._manifests[table])

    def refresh(self) -> None:
        self._manifests.clear()

    def latest(self, table: str) -> Manifest | None:
        versions = self.versions(table)
        return versions[-1] if versions else None

    def resolve(self, table: str, ref: str | int | None = None) -> Manifest | None:
        """The version named by ``ref``: None/'latest' for the newest, a sequence number, an id or id prefix.

        Returns None when the table has no version and ``ref`` asked for the latest.
        """
        if ref is None or ref == "latest":
            return self.latest(table)
        text = str(ref)
        versions = self.versions(table)
        # A number is a sequence number first (so "1" never clashes with a hash starting with 1).
        matches = [m for m in versions if text.isdigit() and m.seq == int(text)]
        if not matches:
            matches = [m for m in versions if m.id == text or m.id.startswith(text)
                       or m.id.split("-", 1)[1].startswith(text)]
        if len(matches) != 1:
            known = ", ".join(m.id for m in versions) or "none yet"
            what = "matches several versions" if matches else "does not exist"
            raise VersionNotFound(f"{table} version '{text}' {what} in store {self.url}; versions: {known}")
        return matches[0]

    def find(self, version_id: str) -> Manifest:
        """A version of any table by its full id (used to follow lineage)."""
        for table in ("prompts", "rollouts", "verdicts", "pairs"):
            for manifest in self.versions(table):
                if manifest.id == version_id:
                    return manifest
        raise VersionNotFound(f"version {version_id} not found in store {self.url}")

    def lineage(self, manifest: Manifest) -> Iterator[tuple[int, Manifest]]:
        """Depth-first walk of the versions ``manifest`` was built from, with their depth."""
        stack = [(0, manifest)]
        seen: set[tuple[str, str]] = set()
        while stack:
            depth, current = stack.pop()
            if (current.table, current.id) in seen:
                continue
            seen.add((current.table, current.id))
            yield depth, current
            for parent in reversed(current.parents):
                stack.append((depth + 1, self.resolve(parent.table, parent.version)))

    # -- reading -----------------------------------------------------------------------------------
    def part_paths(self, manifest: Manifest | None) -> list[str]:
        return [] if manifest is None else [self.local_path(p.path) for p in manifest.parts]

    def read(self, table: str, version: str | int | None = None, *, columns: list[str] | None = None) -> pa.Table:
        """The rows of one version (latest by default) as an Arrow table; an empty table if none exists."""
        spec = table_spec(table)
        manifest = self.resolve(table, version)
        if manifest is None or not manifest.parts:
            schema = spec.with_version_metadata()
            empty = schema.empty_table()
            return empty.select(columns) if columns else empty
        pieces = [self.read_part(p, columns=columns) for p in manifest.parts]
        return pa.concat_tables(pieces, promote_options="default")

    def read_part(self, part: PartInfo | str, *, columns: list[str] | None = None) -> pa.Table:
        relative = part.path if isinstance(part, PartInfo) else part
        return pq.read_table(self.path(relative), columns=columns, filesystem=self.arrow_fs)

    def iter_batches(self, table: str, version: str | int | None = None, *, columns: list[str] | None = None,
                     batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream a version's rows part by part without loading the whole table."""
        manifest = self.resolve(table, version)
        for part in [] if manifest is None else manifest.parts:
            parquet = pq.ParquetFile(self.path(part.path), filesystem=self.arrow_fs)
            try:
                yield from parquet.iter_batches(batch_size=batch_rows, columns=columns)
            finally:
                parquet.close()

    def keys(self, table: str, version: str | int | None = None) -> set[str]:
        """The key column of a version as a set (what a resumed stage skips)."""
        spec = table_spec(table)
        found: set[str] = set()
        for batch in self.iter_batches(table, version, columns=[spec.key]):
            found.update(batch.column(0).to_pylist())
        return found

    # -- pending parts -----------------------------------------------------------------------------
    def pending_parts(self, table: str, run_key: str) -> list[str]:
        """Complete part files of ``run_key`` not listed by any manifest (work of a run that died)."""
        folder = self.path(table, "parts")
        if not self.fs.exists(folder):
            return []
        listed = {p.path for m in self.versions(table) for p in m.parts}
        prefix = run_key[:16] + "-"
        pending = []
        for entry in sorted(self.fs.ls(folder, detail=False)):
            name = PurePosixPath(entry).name
            relative = f"{table}/parts/{name}"
            if name.startswith(prefix) and name.endswith(".parquet") and relative not in listed:
                pending.append(relative)
        return pending

    def check(self, manifest: Manifest) -> list[str]:
        """Problems with a version's files (missing, wrong size or checksum); empty when all is well."""
        import hashlib

        problems = []
        for part in manifest.parts:
            full = self.path(part.path)
            if not self.fs.exists(full):
                problems.append(f"{part.path}: missing")
                continue
            with self.fs.open(full, "rb") as handle:
                data = handle.read()
            if len(data) != part.bytes:
                problems.append(f"{part.path}: {len(data)} bytes, manifest says {part.bytes}")
            elif hashlib.sha256(data).hexdigest() != part.sha256:
                problems.append(f"{part.path}: checksum differs from the manifest")
        return problems

    def conform(self, table: str, data: pa.Table, *, source: str) -> pa.Table:
        return conform(table_spec(table), data, source=source)

    def ensure_writable(self) -> None:
        try:
            self.fs.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store at {self.url}: {exc}") from None
