"""The TRL reward functions are the factory's reward profiles: same numbers as the rollouts table holds.

The sample completions are imported (and scored by the factory) into a real store; the reward functions
then score the same completions the way GRPOTrainer calls them (conversational completions, dataset
columns as keyword arguments) and must agree row for row.
"""

import inspect

import polars as pl
import pytest

from factory.rewards import score_frame
from factory.rewards.errors import MissingColumns, UnknownProfile, UnsupportedRewardOption
from factory.rewards.trl_reward import completion_text, make_reward_funcs


def trl_kwargs(rows, prompts):
    """What GRPOTrainer passes besides prompts/completions: each dataset column, one value per completion."""
    by_id = {p["prompt_id"]: p for p in prompts.values()}
    return {"prompt_id": [r["prompt_id"] for r in rows],
            "gold": [by_id[r["prompt_id"]]["gold"] for r in rows],
            "problem_type": [by_id[r["prompt_id"]]["problem_type"] for r in rows],
            "options": [by_id[r["prompt_id"]]["options"] for r in rows],
            "completion_ids": [[0] * 5 for _ in rows], "trainer_state": None}


def test_functions_are_named_for_trls_logs_and_take_its_signature():
    funcs = make_reward_funcs("veripo")
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward"]
    for func in funcs:
        params = inspect.signature(func).parameters
        assert list(params)[:2] == ["prompts", "completions"] and "kwargs" in params
    assert [f.__name__ for f in make_reward_funcs("video-r1", length_bonus=True)] == [
        "accuracy_reward", "format_reward", "length_reward"]


@pytest.mark.parametrize("conversational", [True, False])
def test_rewards_equal_the_rollouts_tables_reward_columns(export_store, conversational):
    store, prompts = export_store["store"], export_store["prompts"]
    rows = [r for r in store.read("rollouts").to_pylist() if r["engine"] == "import"]
    completions = [[{"role": "assistant", "content": r["completion"]}] if conversational else r["completion"]
                   for r in rows]
    prompt_msgs = [[{"role": "user", "content": "q"}] for _ in rows]
    accuracy, fmt = make_reward_funcs("veripo")
    kwargs = trl_kwargs(rows, prompts)
    assert accuracy(prompts=prompt_msgs, completions=completions, **kwargs) == [r["reward_accuracy"] for r in rows]
    assert fmt(prompt_msgs, completions, **kwargs) == [r["reward_format"] for r in rows]
    assert {r["reward_profile"] for r in rows} == {"veripo"}


def test_video_r1_length_bonus_counts_completion_ids_per_prompt_group():
    good = "<think>" + "x " * 10 + "</think><answer>A</answer>"
    kwargs = {"prompt_id": ["p", "p", "q"], "gold": ["A"] * 3, "problem_type": ["multiple choice"] * 3,
              "options": [["A. a", "B. b"]] * 3, "completion_ids": [[1] * 400, [1] * 400, [1] * 400]}
    accuracy, fmt, length = make_reward_funcs("video-r1", length_bonus=True)
    completions = [[{"role": "assistant", "content": good}]] * 3
    assert accuracy(None, completions, **kwargs) == [1.0, 1.0, 1.0]
    assert fmt(None, completions, **kwargs) == [1.0, 1.0, 1.0]
    # q has one correct rollout only: Video-R1 gives the bonus when more than one of the group is correct
    assert length(None, completions, **kwargs) == [0.2, 0.2, 0.0]
    expected = score_frame(pl.DataFrame({
        "prompt_id": kwargs["prompt_id"], "completion": [good] * 3, "problem_type": kwargs["problem_type"],
        "gold": kwargs["gold"], "completion_tokens": [400] * 3}), "video-r1", length_bonus=True)
    assert length(None, completions, **kwargs) == expected["reward_length"].to_list()


def test_completion_text_reads_conversational_shapes():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "a"}]) == "a"
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]) == "b"
    parts = [{"type": "text", "text": "c"}, {"type": "image"}, {"type": "text", "text": "d"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "cd"
    assert completion_text(None) == ""


def test_missing_columns_and_bad_profiles_are_clear_errors():
    accuracy, _ = make_reward_funcs()
    with pytest.raises(MissingColumns, match="lacks column.*gold.*trl-grpo"):
        accuracy(None, ["<answer>A</answer>"], problem_type=["multiple choice"])
    with pytest.raises(UnknownProfile):
        make_reward_funcs("nope")
    with pytest.raises(UnsupportedRewardOption):
        make_reward_funcs("veripo", length_bonus=True)
