"""How the loop derives each stage's settings from the stage sections and the earlier stages' outputs."""

import pytest

from factory.errors import UsageError
from factory.pairs import PairConfig
from factory.verifier.config import VerifyConfig
from trainers.dpo import DpoConfig
from trainers.grpo import GrpoConfig
from trainers.loop import LoopConfig, LoopSettings, _plan, _stage_settings
from trainers.loop_state import LoopState


def settings(**loop):
    return LoopSettings(loop=LoopConfig(policy="start", **loop), grpo=GrpoConfig(learning_rate=1e-6),
                        verify=VerifyConfig(), pairs=PairConfig(), dpo=DpoConfig())


def state_after_first_round(tmp_path, *, dpo_skipped=False):
    state = LoopState(tmp_path / "loop_state.json", {})
    state.iterations["1"] = {
        "grpo": {"checkpoint": "run/iter-1/grpo", "rollouts_version": "R1", "prompts_version": "P1"},
        "verify": {"verdicts_version": "V1"},
        "pairs": {"pairs_version": "D1", "next_prompts_version": "P2"},
        "dpo": {"skipped": "no pairs", "checkpoint": None} if dpo_skipped else {"checkpoint": "run/iter-1/dpo"},
    }
    return state


def test_plan_orders_stages_and_adds_the_final_grpo():
    assert _plan(LoopConfig(iterations=2)) == [(1, "grpo"), (1, "verify"), (1, "pairs"), (1, "dpo"),
                                               (2, "grpo"), (2, "verify"), (2, "pairs"), (2, "dpo")]
    assert _plan(LoopConfig(iterations=1, final_grpo=True))[-2:] == [(2, "grpo"), (2, "verify")]


def test_first_round_uses_the_start_policy_and_sections(tmp_path):
    first = _stage_settings(settings(prompts_version="P0"), LoopState(tmp_path / "s.json", {}), 1, "grpo",
                            tmp_path / "run")
    assert (first.model, first.version, first.iteration, first.learning_rate, first.data_types) == \
        ("start", "P0", 1, 1e-6, None)
    assert first.output_dir == str(tmp_path / "run" / "iter-1" / "grpo")


def test_later_rounds_start_from_dpo_on_the_pruned_prompts(tmp_path):
    state = state_after_first_round(tmp_path)
    grpo = _stage_settings(settings(), state, 2, "grpo", tmp_path / "run")
    assert (grpo.model, grpo.version, grpo.learning_rate, grpo.data_types) == ("run/iter-1/dpo", "P2", 5e-7, ["video"])
    state.iterations["2"] = {"grpo": {"checkpoint": "run/iter-2/grpo", "rollouts_version": "R2",
                                      "prompts_version": "P2"}, "verify": {"verdicts_version": "V2"},
                             "pairs": {"pairs_version": "D2"}}
    verify = _stage_settings(settings(), state, 2, "verify", tmp_path / "run")
    pairs = _stage_settings(settings(), state, 2, "pairs", tmp_path / "run")
    dpo = _stage_settings(settings(), state, 2, "dpo", tmp_path / "run")
    assert verify.rollouts_version == "R2"
    assert (pairs.rollouts_version, pairs.verdicts_version, pairs.prompts_version, pairs.write_next_prompts) == \
        ("R2", "V2", "P2", True)
    assert (dpo.model, dpo.version, dpo.iteration) == ("run/iter-2/grpo", "D2", 2)


def test_a_round_without_dpo_goes_on_from_grpo(tmp_path):
    grpo = _stage_settings(settings(later_grpo_learning_rate=None, later_data_types=None),
                           state_after_first_round(tmp_path, dpo_skipped=True), 2, "grpo", tmp_path / "run")
    assert (grpo.model, grpo.learning_rate, grpo.data_types) == ("run/iter-1/grpo", 1e-6, None)


def test_loop_needs_a_policy_and_prompts(store, tmp_path):
    with pytest.raises(UsageError, match="no starting policy"):
        from trainers.loop import run_loop

        run_loop(store, LoopSettings(LoopConfig(), GrpoConfig(), VerifyConfig(), PairConfig(), DpoConfig()))
    with pytest.raises(UsageError, match="no prompts"):
        run_loop(store, settings(run_dir=str(tmp_path / "run")))
