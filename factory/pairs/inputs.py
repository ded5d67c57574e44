"""The candidate frame every pair policy reads: one row per ok rollout with its verdict's figures.

Only the columns the policies need are read, part files are scanned lazily, and the completion text is
reduced to a 64-bit hash here (texts are fetched again only for the rollouts that end up in a pair), so
memory grows with the number of rollouts, not with the length of their texts.

Columns of the candidate frame:

========================  ======================================================================
``rollout_id``            the rollout
``prompt_id``             its question (the group)
``iteration``             the rollout's training-loop iteration
``text_hash``             hash of the completion text (equal texts, equal hashes; used to de-duplicate)
``reward``                ``reward_total``
``think_tokens``          think length
``accurate`` ...          ``fmt_ok``, ``truncated``, ``repetitive``, ``reflective``: booleans, may be null
``verdict_status``        the chosen verifier's status (ok / unparsable / error; null: no verdict)
``consistent``            the judge's label as a boolean (null unless ``verdict_status`` is ok)
========================  ======================================================================
"""

from __future__ import annotations

import polars as pl
import pyarrow.dataset as ds
from fsspec.implementations.local import LocalFileSystem

from factory.errors import UsageError
from factory.store import Manifest, Store
from schemas import table_spec

RULE_FIGURES = ("accurate", "fmt_ok", "truncated", "repetitive", "reflective", "think_tokens")
CANDIDATE_COLUMNS = ("rollout_id", "prompt_id", "iteration", "text_hash", "reward", *RULE_FIGURES,
                     "verdict_status", "consistent")


def scan_version(store: Store, table: str, manifest: Manifest | None, columns: list[str]) -> pl.LazyFrame:
    """A lazy scan of ``columns`` over a version's part files (an empty frame for no version)."""
    if manifest is None or not manifest.parts:
        empty = table_spec(table).schema.empty_table().select(columns)
        return pl.from_arrow(empty).lazy()
    if isinstance(store.fs, LocalFileSystem):
        return pl.scan_parquet(store.part_paths(manifest)).select(columns)
    dataset = ds.dataset([store.path(p.path) for p in manifest.parts], format="parquet",
                         filesystem=store.arrow_fs)
    return pl.scan_pyarrow_dataset(dataset).select(columns)


def verifiers_in(store: Store, verdicts: Manifest | None) -> list[str]:
    """The distinct ``verifier`` names in a verdicts version, sorted."""
    names = scan_version(store, "verdicts", verdicts, ["verifier"]).unique().collect()
    return sorted(names["verifier"].to_list())


def resolve_verifier(store: Store, verdicts: Manifest | None, wanted: str | None, *, required: bool) -> str | None:
    """The verifier to use: ``wanted`` if present, else the only one there.

    Raises :class:`UsageError` when ``wanted`` is absent, when several verifiers sit side by side and none
    was named, or (``required``) when there are no verdicts at all.
    """
    present = verifiers_in(store, verdicts)
    where = f"verdicts version {verdicts.id}" if verdicts is not None else f"store {store.url} (no verdicts)"
    if wanted is not None:
        if wanted not in present:
            raise UsageError(f"verifier {wanted!r} has no verdicts in {where}; present: {present or 'none'}")
        return wanted
    if len(present) > 1:
        raise UsageError(f"{where} holds verdicts of several verifiers {present}; choose one with "
                         f"[pairs] verifier = ... (or --verifier)")
    if not present:
        if required:
            raise UsageError(f"{where} has no verdicts to pair with; run `factory verify` first")
        return None
    return present[0]


def candidates(store: Store, rollouts: Manifest, verdicts: Manifest | None, verifier: str | None, *,
               rule_figures: str = "verdicts") -> pl.DataFrame:
    """The candidate frame (see module doc) of the ok rollouts of ``rollouts``, joined to ``verifier``'s verdicts.

    A rollout with several verdicts of the same verifier (e.g. two judge prompt versions) uses one: an ok
    one before any other status, then the newest. Rollouts with a null completion are left out. Collected,
    because every policy and the pair rows read it more than once.
    """
    rows = (scan_version(store, "rollouts", rollouts,
                         ["rollout_id", "prompt_id", "status", "completion", "iteration", "reward_total",
                          *RULE_FIGURES])
            .filter((pl.col("status") == "ok") & pl.col("completion").is_not_null())
            .select("rollout_id", "prompt_id", "iteration",
                    pl.col("completion").hash(seed=0).alias("text_hash"),
                    pl.col("reward_total").alias("reward"), *RULE_FIGURES)
            .collect(engine="streaming"))
    joined = rows.join(_verdict_rows(store, verdicts, verifier, rows.schema), on="rollout_id", how="left")
    first, second = ("v_", "") if rule_figures == "verdicts" else ("", "v_")
    return joined.select("rollout_id", "prompt_id", "iteration", "text_hash", "reward",
                         *[pl.coalesce(pl.col(f"{first}{c}"), pl.col(f"{second}{c}")).alias(c) for c in RULE_FIGURES],
                         "verdict_status", "consistent")


def _verdict_rows(store: Store, verdicts: Manifest | None, verifier: str | None, schema: pl.Schema) -> pl.DataFrame:
    """One verdict per rollout of ``verifier``: ``rollout_id, verdict_status, consistent, v_<rule figure>...``."""
    columns = {"rollout_id": pl.String, "verdict_status": pl.String, "consistent": pl.Boolean,
               **{f"v_{c}": schema[c] for c in RULE_FIGURES}}
    if verifier is None:
        return pl.DataFrame(schema=columns)
    found = (scan_version(store, "verdicts", verdicts,
                          ["rollout_id", "verifier", "status", "consistent", "created_at", *RULE_FIGURES])
             .filter(pl.col("verifier") == verifier)
             .collect(engine="streaming"))
    if found["rollout_id"].is_duplicated().any():  # rare: sort only when a rollout has several verdicts
        found = (found.sort([pl.col("status") != "ok", "created_at"], descending=[False, True])
                 .unique("rollout_id", keep="first", maintain_order=True))
    return found.select("rollout_id", pl.col("status").alias("verdict_status"),
                        pl.when(pl.col("status") == "ok").then(pl.col("consistent")).alias("consistent"),
                        *[pl.col(c).alias(f"v_{c}") for c in RULE_FIGURES])


def texts(store: Store, rollouts: Manifest, ids: pl.Series) -> pl.DataFrame:
    """``rollout_id, completion`` of the rollouts named in ``ids`` (one streaming pass over the parts)."""
    return (scan_version(store, "rollouts", rollouts, ["rollout_id", "completion"])
            .filter(pl.col("rollout_id").is_in(ids.unique().implode()))
            .collect(engine="streaming"))
