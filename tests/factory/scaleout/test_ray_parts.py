"""The Ray path's pure parts, without a cluster: placement, result rows, staging folders, config checks."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.engines.ray_engine import RESULT_SCHEMA, _cumulative_logprob, _CoreSlots, _Finish, _slim, placement
from factory.errors import UsageError
from factory.rollouts.config import RolloutConfig
from factory.rollouts.generate import make_engine
from factory.scaleout.staging import Staging
from factory.store import Store
from factory.verifier.config import VerifyConfig


def test_placement_cpu_switch_and_gpu_bundles():
    assert placement(on_cpu=True, tensor_parallel_size=1, gpus_per_replica=None) == {"bundles": [{"CPU": 1}]}
    assert placement(on_cpu=False, tensor_parallel_size=1, gpus_per_replica=None) is None  # one GPU each
    assert placement(on_cpu=False, tensor_parallel_size=1, gpus_per_replica=0.5) == {
        "bundles": [{"GPU": 0.5, "CPU": 1}]}
    assert placement(on_cpu=False, tensor_parallel_size=4, gpus_per_replica=None)["bundle_per_worker"] == {
        "GPU": 1, "CPU": 1}
    with pytest.raises(UsageError, match="tensor_parallel_size"):
        placement(on_cpu=True, tensor_parallel_size=2, gpus_per_replica=None)
    with pytest.raises(UsageError, match="must equal"):
        placement(on_cpu=False, tensor_parallel_size=4, gpus_per_replica=2)


def test_cpu_replicas_get_a_core_each():
    slots = _CoreSlots({"env_vars": {"VLLM_CPU_KVCACHE_SPACE": "1"}}, [0, 1])
    first, second, third = slots(), slots(), slots()
    assert first["runtime_env"]["env_vars"] == {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "1",
                                                "OMP_PLACES": "{0}", "OMP_PROC_BIND": "true"}
    assert second["runtime_env"]["env_vars"]["OMP_PLACES"] == "{1}"
    assert third["runtime_env"]["env_vars"]["OMP_PLACES"] == "{0}"


def engine_row(**overrides):
    row = {"key": "k1", "sampling": json.dumps({"max_tokens": 8, "seed": 3}), "generated_text": "abc",
           "num_input_tokens": 20, "num_generated_tokens": 5, "time_taken_llm": 0.5, "generated_tokens": [7, 9],
           "logprobs": None, "metrics": {"arrival_time": 100.0, "queued_ts": 5.0, "last_token_ts": 7.5},
           "__inference_error__": ""}
    return {**row, **overrides}


def test_result_rows_finish_reason_logprobs_and_failures():
    finish = _Finish(max_model_len=32)
    ok = finish({**_slim(engine_row()), "__inference_error__": ""})
    assert set(ok) == set(RESULT_SCHEMA.names) and ok["error"] is None
    assert (ok["finish_reason"], ok["completion_tokens"], ok["prompt_tokens"]) == ("stop", 5, 20)
    assert (ok["started_at"], ok["finished_at"]) == (100.0, 102.5)
    assert finish({**_slim(engine_row(num_generated_tokens=8)), "__inference_error__": ""})["finish_reason"] == "length"
    # max_model_len reached before max_tokens: vLLM says length too
    assert finish({**_slim(engine_row(num_input_tokens=28, num_generated_tokens=4)),
                   "__inference_error__": ""})["finish_reason"] == "length"
    # log-probs keyed by token id (int, or str after a round trip through Arrow)
    steps = [{7: {"logprob": -0.5}, 1: {"logprob": -2.0}}, {"9": {"logprob": -0.25}}]
    assert _cumulative_logprob(engine_row(logprobs=steps)) == -0.75
    # rows the engine never saw (media) and rows it failed keep their message
    media = finish({"key": "k2", "media_error": "clip.mp4: does not exist", "__inference_error__": "media: x"})
    assert (media["error_kind"], media["error"], media["finish_reason"]) == ("media", "clip.mp4: does not exist",
                                                                             "error")
    failed = finish({"key": "k3", "__inference_error__": "ValueError: prompt too long"})
    assert (failed["error_kind"], failed["error"]) == ("engine", "ValueError: prompt too long")
    pa.Table.from_pylist([ok, media, failed], schema=RESULT_SCHEMA)  # the written schema holds them


def test_staging_fresh_folders_incomplete_files_and_cleanup(tmp_path):
    store = Store(tmp_path / "store")
    staging = Staging(store, "rollouts", "a" * 32)
    first, second = staging.fresh(), staging.fresh()
    assert first != second and first.startswith(str(tmp_path))
    pq.write_table(pa.table({"key": ["x"]}), f"{first}/part-0.parquet")
    with open(f"{second}/part-0.parquet", "wb") as handle:  # a file a killed job was still writing
        handle.write(b"PAR1" + b"\0" * 64)
    assert len(staging.files()) == 2 and staging.files(first) == [f"{first}/part-0.parquet"]
    assert staging.read(f"{first}/part-0.parquet").num_rows == 1
    assert staging.read(f"{second}/part-0.parquet") is None
    assert Staging(store, "rollouts", "b" * 32).files() == []  # another config's folders are not its
    staging.clear()
    assert not (tmp_path / "store" / "rollouts" / "ray").exists()


def test_config_accepts_ray_and_checks_replicas():
    assert RolloutConfig(policy="p", engine="ray", replicas=4).replicas == 4
    with pytest.raises(ValueError, match="replicas"):
        RolloutConfig(policy="p", engine="ray", replicas=0)
    assert VerifyConfig(judge="ray", judge_model="j").name == "judge:j"  # the verifier name (and key) of vllm
    with pytest.raises(ValueError, match="judge_model"):
        VerifyConfig(judge="ray")
    with pytest.raises(UsageError, match="whole request table"):
        make_engine(RolloutConfig(policy="p", engine="ray"))
