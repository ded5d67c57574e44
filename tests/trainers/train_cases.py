"""Shared pieces of the trainer tests: small frame settings and a store of the sample data."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPLETIONS = REPO / "data" / "completions" / "sample_completions.jsonl"
# small frames keep each step to seconds on 2 cores: 4 frames of 56x56 at most
FRAMES = dict(max_frames=4, max_pixels=56 * 56)


def fill_store(store, sample_json):
    """Prompts, imported written rollouts, rules verdicts and veripo pairs in ``store``; returns the pairs result."""
    from factory.pairs import PairConfig, run_pairs
    from factory.prompts import ImportConfig, import_prompts
    from factory.rollouts.importer import RolloutImportConfig, import_rollouts
    from factory.verifier.config import VerifyConfig
    from factory.verifier.run import run_verify

    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    import_rollouts(store, COMPLETIONS, RolloutImportConfig(), show_progress=False)
    run_verify(store, VerifyConfig(), show_progress=False)
    return run_pairs(store, PairConfig(), show_progress=False)
