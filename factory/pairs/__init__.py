"""Pair policies (SPEC section 5): verified rollouts in, chosen/rejected pairs out; easy-question pruning.

- :mod:`factory.pairs.config`: ``PairConfig``, every knob with its default.
- :mod:`factory.pairs.inputs`: the candidate frame (ok rollouts joined to one verifier's verdicts).
- :mod:`factory.pairs.veripo`, :mod:`factory.pairs.best_vs_worst`: the policies; a new one goes beside them
  and into ``POLICIES``.
- :mod:`factory.pairs.rows`: pair rows (figures, texts, margin, weight, ``pair_id``).
- :mod:`factory.pairs.prune`: easy questions and the next round's prompts.
- :mod:`factory.pairs.stage`: ``run_pairs``, the stage the CLI calls.
"""

from factory.pairs.best_vs_worst import best_vs_worst_pairs
from factory.pairs.config import PairConfig
from factory.pairs.prune import dropped_ids, easy_questions, prune_prompts
from factory.pairs.stage import POLICIES, PairsResult, run_pairs
from factory.pairs.veripo import veripo_pairs

__all__ = ["PairConfig", "PairsResult", "POLICIES", "run_pairs", "veripo_pairs", "best_vs_worst_pairs",
           "easy_questions", "dropped_ids", "prune_prompts"]
