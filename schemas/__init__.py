"""The Arrow table contract shared by the factory and the trainers (SPEC section 2)."""

from schemas.errors import FactoryError, InvalidRows, RowProblem, SchemaMismatch, UsageError
from schemas.keys import canonical_json, content_key, pair_id, prompt_id, rollout_id, row_seed, verdict_id
from schemas.tables import PAIRS, PROMPTS, ROLLOUTS, TABLES, VERDICTS, TableSpec, table_spec
from schemas.validate import check_rows, conform, validated

__all__ = [
    "FactoryError", "InvalidRows", "RowProblem", "SchemaMismatch", "UsageError",
    "canonical_json", "content_key", "pair_id", "prompt_id", "rollout_id", "row_seed", "verdict_id",
    "PAIRS", "PROMPTS", "ROLLOUTS", "TABLES", "VERDICTS", "TableSpec", "table_spec",
    "check_rows", "conform", "validated",
]
