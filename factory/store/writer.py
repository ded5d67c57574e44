"""Writing a dataset version: buffered immutable parts, key de-duplication, resume, atomic commit.

A :class:`TableWriter` turns the rows a stage produces into part files as they arrive (every
``rows_per_part`` rows or ``seconds_per_part`` seconds), so a killed run loses at most the rows in its
buffer. Parts are tagged with the run key (a hash of table, stage and config); a re-run with the same
run key adopts the parts of the run that died and skips their keys. The version appears only when
:meth:`TableWriter.commit` writes its manifest.

Modes:
- ``append``: the new version is the base version's parts plus the new parts; keys already in the base
  are skipped (rows with the same key are the same row by construction).
- ``upsert``: like append, but new rows replace base rows with the same key (base parts holding such
  keys are rewritten without them); used to retry failed verdicts.
- ``replace``: the new version holds only this run's rows (e.g. rewards recomputed on a table).
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory.errors import UsageError
from factory.store.manifest import Manifest, ParentRef, PartInfo
from factory.store.store import Store
from factory.version import code_version
from schemas import canonical_json, content_key, table_spec
from schemas.validate import check_rows, conform
from schemas.errors import InvalidRows

MODES = ("append", "upsert", "replace")


def run_key_for(table: str, stage: str, config: dict[str, Any], mode: str) -> str:
    """Identifies 'the same work': same table, stage, mode and config give the same key."""
    return content_key("run", {"table": table, "stage": stage, "mode": mode, "config": config})


class TableWriter:
    """Writes one new version of one table. Use as a context manager, then :meth:`commit`."""

    def __init__(self, store: Store, table: str, *, stage: str, config: dict[str, Any], mode: str = "append",
                 base: str | int | None = "latest", parents: list[ParentRef] | None = None,
                 rows_per_part: int = 500, seconds_per_part: float = 10.0, notes: dict[str, Any] | None = None):
        if mode not in MODES:
            raise UsageError(f"unknown write mode {mode!r}; use one of {MODES}")
        self.store = store
        self.spec = table_spec(table)
        self.table = table
        self.stage = stage
        self.mode = mode
        self.config = config
        self.notes = dict(notes or {})
        canonical_json(config)  # fail early on a config that cannot be recorded exactly
        self.run_key = run_key_for(table, stage, config, mode)
        self.base = store.resolve(table, base) if base is not None and mode != "replace" else None
        self.parents = list(parents or [])
        if self.base is not None and not any(p.table == table for p in self.parents):
            self.parents.insert(0, ParentRef(table, self.base.id))
        self.rows_per_part = rows_per_part
        self.seconds_per_part = seconds_per_part
        store.ensure_writable()
        store.fs.makedirs(store.path(table, "parts"), exist_ok=True)
        store.fs.makedirs(store.path(table, "tmp"), exist_ok=True)
        self.parts: list[PartInfo] = []
        self.run_keys: set[str] = set()
        self.adopted_rows = 0
        self.written_rows = 0
        self.skipped_rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered_rows = 0
        self._last_flush = time.monotonic()
        self._committed: Manifest | None = None
        self.base_keys: set[str] = store.keys(table, self.base.id) if self.base is not None else set()
        self._adopt_pending()

    # -- resume ------------------------------------------------------------------------------------
    def _adopt_pending(self) -> None:
        for relative in self.store.pending_parts(self.table, self.run_key):
            try:
                keys = self.store.read_part(relative, columns=[self.spec.key]).column(0).to_pylist()
            except Exception:  # an unreadable part cannot be trusted: leave it, it is never listed
                continue
            if self.mode == "append" and self.base_keys and not self.base_keys.isdisjoint(keys):
                # Another run committed some of these rows meanwhile: keep only the rest, never a duplicate.
                table = self.store.read_part(relative)
                fresh = pc.invert(pc.is_in(table.column(self.spec.key), value_set=pa.array(sorted(self.base_keys))))
                table = table.filter(fresh)
                self.store.fs.rm(self.store.path(relative))
                if table.num_rows == 0:
                    continue
                info = self._write_part(conform(self.spec, table, source=relative))
                keys = table.column(self.spec.key).to_pylist()
            else:
                info = self._part_info(relative, keys)
            self.parts.append(info)
            self.run_keys.update(keys)
            self.adopted_rows += info.rows

    def _part_info(self, relative: str, keys: list[str]) -> PartInfo | None:
        with self.store.fs.open(self.store.path(relative), "rb") as handle:
            data = handle.read()
        return PartInfo(relative, len(keys), len(data), hashlib.sha256(data).hexdigest())

    # -- writing -----------------------------------------------------------------------------------
    @property
    def done_keys(self) -> set[str]:
        """Keys this run must not produce again (adopted and written; plus the base's in append mode)."""
        return self.run_keys | self.base_keys if self.mode == "append" else set(self.run_keys)

    def is_done(self, key: str) -> bool:
        return key in self.run_keys or (self.mode == "append" and key in self.base_keys)

    def write(self, rows: pa.Table | list[dict[str, Any]], *, source: str = "rows") -> int:
        """Buffer rows for the new version; returns how many were new (the rest were skipped as present)."""
        if isinstance(rows, list):
            # from_pylist would take the columns from the first row only: use the contract's columns,
            # and refuse keys outside it rather than drop them
            unknown = set().union(*(row.keys() for row in rows)) - set(self.spec.schema.names) if rows else set()
            if unknown:
                from schemas.errors import SchemaMismatch

                raise SchemaMismatch(f"{source}: unknown column(s) {sorted(unknown)} for table '{self.table}'")
            rows = pa.Table.from_pylist(rows, schema=self.spec.schema)
        rows = conform(self.spec, rows, source=source)
        problems = check_rows(self.spec, rows, source=source)
        if problems:
            raise InvalidRows(problems)
        keys = rows.column(self.spec.key).to_pylist()
        keep = [not self.is_done(k) for k in keys]
        if not all(keep):
            rows = rows.filter(pa.array(keep))
            self.skipped_rows += keep.count(False)
        if rows.num_rows:
            self.run_keys.update(rows.column(self.spec.key).to_pylist())
            self._buffer.append(rows)
            self._buffered_rows += rows.num_rows
        if self._buffered_rows >= self.rows_per_part or (
                self._buffered_rows and time.monotonic() - self._last_flush >= self.seconds_per_part):
            self.flush()
        return rows.num_rows

    def flush(self) -> None:
        """Write the buffered rows as one part: temporary name first, then an atomic rename."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        data = pa.concat_tables(self._buffer)
        self._buffer, self._buffered_rows = [], 0
        for start in range(0, data.num_rows, self.rows_per_part):
            piece = data.slice(start, self.rows_per_part)
            self.parts.append(self._write_part(piece))
            self.written_rows += piece.num_rows

    def _write_part(self, data: pa.Table) -> PartInfo:
        sink = io.BytesIO()
        pq.write_table(data, sink, compression="zstd")
        payload = sink.getvalue()
        name = f"{self.run_key[:16]}-{uuid.uuid4().hex}.parquet"
        relative = f"{self.table}/parts/{name}"
        temporary = self.store.path(self.table, "tmp", name + ".tmp")
        with self.store.fs.open(temporary, "wb") as handle:
            handle.write(payload)
        self.store.fs.mv(temporary, self.store.path(relative))
        return PartInfo(relative, data.num_rows, len(payload), hashlib.sha256(payload).hexdigest())

    # -- commit ------------------------------------------------------------------------------------
    def commit(self, *, allow_empty: bool = False) -> Manifest | None:
        """Flush and write the manifest; returns the new version, or the base when nothing changed.

        With no new rows and ``allow_empty`` false no version is made (a re-run of finished work).
        """
        if self._committed is not None:
            return self._committed
        self.flush()
        base_parts = list(self.base.parts) if self.base is not None else []
        if self.mode == "upsert" and base_parts and self.run_keys:
            base_parts = self._without_replaced(base_parts)
        if not self.parts and not allow_empty and self.mode != "replace":
            return self.base
        self.store.refresh()
        versions = self.store.versions(self.table)
        seq = (versions[-1].seq + 1) if versions else 1
        manifest = Manifest.make(seq=seq, table=self.table, stage=self.stage, mode=self.mode,
                                 run_key=self.run_key, parents=self.parents, config=self.config,
                                 code_version=code_version(), schema_version=self.spec.version,
                                 parts=base_parts + self.parts, notes=self.notes)
        temporary = self.store.path(self.table, "tmp", manifest.id + ".json.tmp")
        self.store.fs.makedirs(self.store.path(self.table, "versions"), exist_ok=True)
        with self.store.fs.open(temporary, "w") as handle:
            handle.write(manifest.to_json())
        self.store.fs.mv(temporary, self.store.path(self.table, "versions", f"{manifest.id}.json"))
        self.store.refresh()
        self._committed = manifest
        return manifest

    def _without_replaced(self, base_parts: list[PartInfo]) -> list[PartInfo]:
        replaced = pa.array(sorted(self.run_keys))
        kept = []
        for part in base_parts:
            keys = self.store.read_part(part, columns=[self.spec.key]).column(0)
            hit = pc.is_in(keys, value_set=replaced)
            if not pc.any(hit).as_py():
                kept.append(part)
                continue
            rest = self.store.read_part(part).filter(pc.invert(hit))
            if rest.num_rows:
                kept.append(self._write_part(conform(self.spec, rest, source=part.path)))
        return kept

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # On any failure keep what is complete: buffered rows become pending parts the next run adopts.
        if exc_type is not None and self._committed is None:
            try:
                self.flush()
            except Exception:
                pass
