"""The GRPO rollout recorder without a trainer: rows in the factory schema, keys, rewards, finish reasons."""

from types import SimpleNamespace

import pytest

from factory.errors import UsageError
from factory.prompts import ImportConfig, import_prompts
from factory.rewards.trl_reward import make_reward_funcs
from schemas import ROLLOUTS, validated
from trainers.recorder import RolloutRecorder, find_prompts, prompt_text

EOS = 7


@pytest.fixture
def prompts_store(store, sample_json):
    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    return store


def _recorder(store, **changes):
    rows = {r["problem_id"]: r for r in store.read("prompts").to_pylist()}
    table, manifest = find_prompts(store, {rows["1"]["prompt_id"], rows["3"]["prompt_id"]}, None)
    settings = dict(policy_model="tiny", policy_revision="abc", template_id="veripo", template_hash="h",
                    sampling={"temperature": 1.0, "top_p": 1.0, "top_k": 0, "max_new_tokens": 16, "seed": 0,
                              "num_generations": 2},
                    chat_template="{{ x }}", frames={"fps": 2.0, "min_frames": 4, "max_frames": 4, "max_pixels": 3136},
                    profile="veripo", length_bonus=False, iteration=2, eos_ids={EOS}, count_tokens=None,
                    endpoint="in-process", mode="replace", run_config={"test": 1})
    settings.update(changes)
    return RolloutRecorder(store, table, manifest, **settings), rows


def _batch(rows, step):
    first, second = rows["1"]["prompt_id"], rows["3"]["prompt_id"]
    user = [{"role": "user", "content": [{"type": "image", "image": None}, {"type": "text", "text": "Which way?"}]}]
    completions = [[{"role": "assistant", "content": text}] for text in
                   ("<think>It moves right.</think><answer>A</answer>", "no tags at all",
                    "<think>Down it goes.</think><answer>B</answer>", "<think>Up.</think><answer>C</answer>")]
    kwargs = {"prompt_id": [first, first, second, second], "completion_ids": [[1, EOS], [1, 2, 3], [4, EOS], [5, EOS]],
              "trainer_state": SimpleNamespace(global_step=step), "gold": ["A", "A", "B", "B"],
              "problem_type": ["multiple choice"] * 4, "options": [rows["1"]["options"]] * 2 + [rows["3"]["options"]] * 2}
    return [user] * 4, completions, kwargs


def test_recorded_rows_follow_the_schema_and_match_the_reward_functions(prompts_store):
    recorder, rows = _recorder(prompts_store)
    funcs = recorder.wrap(make_reward_funcs("veripo"))
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward"]
    trl_rewards = {}
    with recorder:
        for step in (0, 1):
            prompts, completions, kwargs = _batch(rows, step)
            trl_rewards[step] = [f(prompts=prompts, completions=completions, **kwargs) for f in funcs]
        version = recorder.commit()
    table = prompts_store.read("rollouts", version.id)
    validated(ROLLOUTS, table, source="test")
    assert version.parents[0].table == "prompts" and version.mode == "replace" and version.stage == "grpo"
    got = table.to_pylist()
    assert len(got) == 8 and len({r["rollout_id"] for r in got}) == 8  # a new step gives new keys
    assert [r["sample_index"] for r in got[:4]] == [0, 1, 0, 1]
    assert {r["engine"] for r in got} == {"trl-grpo"} and {r["iteration"] for r in got} == {2}
    assert [r["step"] for r in got] == [0] * 4 + [1] * 4
    assert [r["finish_reason"] for r in got[:4]] == ["stop", "length", "stop", "stop"]
    assert [r["completion_tokens"] for r in got[:4]] == [2, 3, 2, 2]
    assert got[0]["prompt_text"] == "Which way?" and got[0]["frame_fps"] == 2.0 and got[0]["max_frames"] == 4
    assert got[0]["media_uri"] == rows["1"]["media_uri"] and got[0]["policy_revision"] == "abc"
    for step in (0, 1):
        mine = [r for r in got if r["step"] == step]
        assert [r["reward_accuracy"] for r in mine] == trl_rewards[step][0]
        assert [r["reward_format"] for r in mine] == trl_rewards[step][1]
    assert [r["accurate"] for r in got[:4]] == [True, False, True, False]


def test_unknown_prompts_are_named(prompts_store):
    with pytest.raises(UsageError, match="no prompts version"):
        find_prompts(prompts_store, {"not-a-prompt"}, None)


def test_prompt_text_takes_the_last_user_turn():
    assert prompt_text("plain") == "plain"
    assert prompt_text([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]) == "q"
    assert prompt_text([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "a"},
                                                     {"type": "text", "text": "b"}]}]) == "ab"
