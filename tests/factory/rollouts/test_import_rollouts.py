"""Rollout import from each source format: generic JSONL/Parquet, TRL completion logs, verl rollout dumps.

Real files and a real store: the bundled sample tasks are imported as prompts, then rollouts are imported
against them and read back. The slow test runs TRL's GRPOTrainer for two steps on the tiny model and
imports the completion log it writes.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.errors import InvalidRows, UsageError
from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.importer import RolloutImportConfig, import_rollouts
from schemas import rollout_id

REPO = Path(__file__).resolve().parents[3]
SAMPLE_COMPLETIONS = REPO / "data" / "completions" / "sample_completions.jsonl"
SYSTEM = "You are a helpful assistant."


@pytest.fixture
def prompts(store, sample_json):
    """The sample tasks imported; returns {problem_id: prompt row}."""
    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    return {r["problem_id"]: r for r in store.read("prompts").to_pylist()}


def render(prompt: dict) -> str:
    """A VerIPO-style question text as a trainer would build it from the task row."""
    options = ("\nOptions:\n" + "\n".join(prompt["options"])) if prompt["options"] else ""
    return (f"{prompt['problem']}{options}\nThink step by step inside <think> </think> tags, then give the final "
            "answer inside <answer> </answer> tags.")


def run(store, source, **settings):
    return import_rollouts(store, source, RolloutImportConfig(**settings), show_progress=False)


def by_row(store):
    return {(Path(r["source_file"]).name, r["source_row"]): r for r in store.read("rollouts").to_pylist()}


# -- generic ------------------------------------------------------------------------------------------
def test_bundled_completions_import_with_the_annotated_rule_columns(store, prompts):
    result = run(store, SAMPLE_COMPLETIONS)
    expected = [json.loads(line) for line in SAMPLE_COMPLETIONS.read_text().splitlines()]
    assert result.format == "generic" and result.written == len(expected) and not result.problems
    rows = by_row(store)
    for number, source in enumerate(expected):
        row = rows[(SAMPLE_COMPLETIONS.name, number)]
        got = {name: row[name] for name in source["expect"]}
        assert got == source["expect"], (number, source["note"], row["answer"], row["reward_accuracy"])
        assert row["prompt_id"] == prompts[str(source["problem_id"])]["prompt_id"]
        assert row["completion"] == source["completion"] and row["finish_reason"] == source["finish_reason"]
    first = rows[(SAMPLE_COMPLETIONS.name, 0)]
    assert first["status"] == "ok" and first["engine"] == "import" and first["endpoint"] is None
    assert first["policy_model"] == "written-examples" and first["template_id"] == "import"
    assert first["media_sha256"] == prompts["1"]["media_sha256"] and first["code_version"]
    groups = [r["sample_index"] for r in rows.values() if r["prompt_id"] == prompts["1"]["prompt_id"]]
    assert sorted(groups) == list(range(len(groups)))
    manifest = result.version
    assert manifest.stage == "rollouts import"
    assert [(p.table, p.version) for p in manifest.parents] == [("prompts", store.latest("prompts").id)]


def test_bundled_completions_track_the_sample_tasks(sample_json, tmp_path):
    spec = importlib.util.spec_from_file_location("make_completions", SAMPLE_COMPLETIONS.parent / "make_completions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.make_completions(sample_json, tmp_path / "c.jsonl")
    assert fresh.read_text() == SAMPLE_COMPLETIONS.read_text(), "run python data/completions/make_completions.py"


def test_rewards_of_known_completions(store, prompts, tmp_path):
    source = tmp_path / "known.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in [
        {"problem_id": 1, "completion": "<think>It drifts right.</think>\n<answer>A</answer>"},
        {"problem_id": 1, "completion": "<think>It drifts up.</think>\n<answer>B</answer>"},
        {"problem_id": 1, "completion": "The answer is A."},
        {"problem_id": 2, "completion": "<think>Ends near 73.5.</think><answer>73.5</answer>"},
        {"problem_id": 10, "completion": "<think>Reading it.</think><answer>K9Z</answer>"},
    ]) + "\n")
    run(store, source)
    rows = by_row(store)
    totals = [(rows[("known.jsonl", i)]["reward_accuracy"], rows[("known.jsonl", i)]["reward_format"])
              for i in range(5)]
    assert totals == [(1.0, 0.5), (0.0, 0.5), (0.0, 0.0), (1.0, 0.5), (1.0, 0.5)]
    assert all(r["reward_profile"] == "veripo" and r["reward_total"] == r["reward_accuracy"] + r["reward_format"]
               for r in rows.values())


def test_parquet_with_prompt_ids_and_sampling_fields(store, prompts, tmp_path):
    pid = prompts["3"]["prompt_id"]
    rows = [dict(prompt_id=pid, completion=f"<think>down</think><answer>{letter}</answer>", model="org/policy",
                 revision="abc123", sample_index=index, temperature=1.0, top_p=0.95, max_tokens=768, seed=7 + index,
                 finish_reason="stop", completion_tokens=12, prompt_tokens=300, iteration=2, step=40)
            for index, letter in enumerate("BC")]
    source = tmp_path / "rollouts.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source)
    result = run(store, source)
    assert result.format == "generic" and result.written == 2
    row = by_row(store)[("rollouts.parquet", 1)]
    params = {"temperature": 1.0, "top_p": 0.95, "max_tokens": 768, "seed": 8, "step": 40, "iteration": 2,
              "source": "import"}
    assert json.loads(row["sampling_params"]) == params
    assert row["rollout_id"] == rollout_id(prompt_id=pid, sample_index=1, policy_model="org/policy",
                                           policy_revision="abc123", sampling_params=params, template_id="import")
    assert (row["policy_model"], row["policy_revision"], row["seed"], row["max_new_tokens"]) == (
        "org/policy", "abc123", 8, 768)
    assert (row["step"], row["iteration"], row["completion_tokens"], row["prompt_tokens"]) == (40, 2, 12, 300)
    assert row["accurate"] is False and by_row(store)[("rollouts.parquet", 0)]["accurate"] is True


def test_reimport_writes_nothing_new(store, prompts):
    first = run(store, SAMPLE_COMPLETIONS)
    again = run(store, SAMPLE_COMPLETIONS)
    assert again.written == 0 and again.already_present == first.written
    assert again.version.id == first.version.id and len(store.versions("rollouts")) == 1
    assert store.read("rollouts").num_rows == first.written
    # the key holds no reward profile: scoring the same rollouts another way is `factory rewards`, not a re-import
    assert run(store, SAMPLE_COMPLETIONS, profile="video-r1").written == 0


BAD = [
    ({"problem_id": 99, "completion": "<answer>A</answer>"}, "problem_id", "problem_id '99' is not in prompts version"),
    ({"prompt_id": "0" * 32, "completion": "<answer>A</answer>"}, "prompt_id", "is not in prompts version"),
    ({"problem_id": 1, "data_source": "elsewhere", "completion": "x"}, "problem_id", "in data source 'elsewhere'"),
    ({"problem_id": 1, "completion": "   "}, "completion", "is missing or empty"),
    ({"problem_id": 1}, "completion", "is missing or empty"),
    ({"completion": "<answer>A</answer>"}, "prompt_id", "has no prompt reference"),
    ({"problem_id": 1, "completion": "x", "sample_index": "first"}, "sample_index", "is not a whole number"),
    ({"problem_id": 1, "completion": "x", "temperature": "hot"}, "temperature", "is not a number"),
    ({"problem_id": 1, "completion": "<answer>A</answer>", "sample_index": 0}, "sample_index",
     "same prompt, sample_index"),
]


def write_bad_file(path: Path) -> Path:
    good = {"problem_id": 1, "data_source": "veripo-sample", "completion": "<think>r</think><answer>A</answer>"}
    lines = [json.dumps(good)] + [json.dumps(row) for row, *_ in BAD] + ["{not json"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_rows_are_named_and_fail_writes_nothing(store, prompts, tmp_path):
    source = write_bad_file(tmp_path / "bad.jsonl")
    with pytest.raises(InvalidRows) as info:
        run(store, source)
    lines = info.value.lines()
    assert len(lines) == len(BAD) + 1
    for number, ((_, field, text), line) in enumerate(zip(BAD, lines), start=1):
        assert f"bad.jsonl row {number}" in line and f"field '{field}'" in line and text in line, line
    assert f"bad.jsonl row {len(BAD) + 1}: field '(row)': not valid JSON" in lines[-1]
    assert store.latest("rollouts") is None


def test_skip_writes_the_good_rows_and_reports_the_bad(store, prompts, tmp_path):
    source = write_bad_file(tmp_path / "bad.jsonl")
    result = run(store, source, on_error="skip")
    assert result.written == 1 and len(result.problems) == len(BAD) + 1
    assert [r["source_row"] for r in store.read("rollouts").to_pylist()] == [0]


def test_import_needs_prompts(store, tmp_path):
    with pytest.raises(UsageError, match="has no prompts"):
        run(store, SAMPLE_COMPLETIONS)


def test_folder_of_nothing_known_is_a_usage_error(store, prompts, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("hi")
    with pytest.raises(UsageError, match="neither TRL completion logs"):
        run(store, tmp_path / "logs")


# -- TRL ----------------------------------------------------------------------------------------------
def write_trl_log(folder: Path, step: int, rows: list[tuple[str, str]], reward: str = "format_reward") -> None:
    """A completion log exactly as GRPOTrainer.log writes it (conversational data): pandas -> Parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    table = {
        "step": [step] * len(rows),
        "prompt": [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}] for text, _ in rows],
        "completion": [[{"role": "assistant", "content": completion}] for _, completion in rows],
        reward: [float("<answer>" in completion) for _, completion in rows],
        "advantage": [0.5 - i % 2 for i in range(len(rows))],
    }
    pd.DataFrame(table).to_parquet(folder / f"completions_{step:05d}.parquet")


def test_trl_completion_logs(store, prompts, tmp_path):
    logs = tmp_path / "grpo-out" / "completions"
    # problems 1 and 13 ask the same question with differently lettered options: the options decide
    step1 = [(render(prompts["1"]), "<think>right</think><answer>A</answer>"),
             (render(prompts["1"]), "<think>up</think><answer>B</answer>"),
             (render(prompts["13"]), "<think>up</think><answer>B</answer>"),
             (render(prompts["13"]), "<think>down</think><answer>A</answer>")]
    write_trl_log(logs, 1, step1)
    write_trl_log(logs, 2, step1)  # one generation logged again at the next step
    write_trl_log(logs, 3, [(render(prompts["1"]), "<think>right</think><answer>A</answer>"),
                            (render(prompts["1"]), "<think>left</think><answer>C</answer>"),
                            (render(prompts["7"]), "<think>three</think><answer>3</answer>"),
                            ("What is the capital of France?", "<answer>Paris</answer>")])
    with pytest.raises(InvalidRows) as info:
        run(store, tmp_path / "grpo-out")
    lines = info.value.lines()
    assert len(lines) == 2 and all("completions_00003.parquet" in line and "field 'prompt'" in line for line in lines)
    assert "row 2" in lines[0] and "matches 2 prompts equally well" in lines[0] and "log a prompt_id" in lines[0]
    assert "row 3" in lines[1] and "no problem text of prompts version" in lines[1]

    result = run(store, tmp_path / "grpo-out", on_error="skip", model="org/policy", temperature=1.0)
    assert result.format == "trl" and result.written == 6 and len(result.problems) == 2
    assert result.warnings == ["1 TRL log file(s) repeat the file before them (one generation logged at several "
                               "steps) and were read once: completions_00002.parquet"]
    rows = store.read("rollouts").to_pylist()
    assert {r["engine"] for r in rows} == {"trl-grpo"} and {r["step"] for r in rows} == {1, 3}
    found = sorted((r["step"], r["prompt_id"] == prompts["1"]["prompt_id"], r["sample_index"], r["accurate"])
                   for r in rows)
    assert found == [(1, False, 0, True), (1, False, 1, False), (1, True, 0, True), (1, True, 1, False),
                     (3, True, 0, True), (3, True, 1, False)]
    assert all(r["policy_model"] == "org/policy" and r["temperature"] == 1.0 for r in rows)
    assert all(SYSTEM in r["prompt_text"] and "Options:" in r["prompt_text"] for r in rows)
    # the single file imports the same way, and with the same settings its rows are already there
    again = run(store, logs / "completions_00001.parquet", model="org/policy", temperature=1.0)
    assert again.format == "trl" and again.written == 0 and again.already_present == 4


def test_trl_prompt_id_column_from_log_extra_wins(store, prompts, tmp_path):
    logs = tmp_path / "out" / "completions"
    write_trl_log(logs, 5, [(render(prompts["7"]), "<think>3</think><answer>3</answer>"),
                            (render(prompts["9"]), "<think>5</think><answer>5</answer>")])
    frame = pd.read_parquet(logs / "completions_00005.parquet")
    frame.insert(4, "prompt_id", [prompts["7"]["prompt_id"], prompts["9"]["prompt_id"]])
    frame.to_parquet(logs / "completions_00005.parquet")
    result = run(store, tmp_path / "out")
    assert result.written == 2
    assert {(r["prompt_id"], r["accurate"]) for r in store.read("rollouts").to_pylist()} == {
        (prompts["7"]["prompt_id"], True), (prompts["9"]["prompt_id"], True)}


def test_trl_multimodal_prompt_blocks(store, prompts, tmp_path):
    logs = tmp_path / "vl" / "completions"
    logs.mkdir(parents=True)
    user = [{"type": "video", "text": None}, {"type": "text", "text": render(prompts["5"])}]
    pd.DataFrame({"step": [1], "prompt": [[{"role": "user", "content": user}]],
                  "completion": [[{"role": "assistant", "content": [{"type": "text", "text": "<answer>D</answer>"}]}]],
                  "accuracy": [1.0], "advantage": [0.0]}).to_parquet(logs / "completions_00001.parquet")
    assert run(store, tmp_path / "vl").written == 1
    row = store.read("rollouts").to_pylist()[0]
    assert row["prompt_id"] == prompts["5"]["prompt_id"] and row["completion"] == "<answer>D</answer>"
    assert row["accurate"] is True and row["fmt_ok"] is False


# -- verl ---------------------------------------------------------------------------------------------
def verl_input(prompt: dict) -> str:
    """A prompt as verl dumps it: the chat template's text with the special tokens decoded away."""
    return f"system\n{SYSTEM}\nuser\n{render(prompt)}\nassistant\n"


def test_verl_rollout_dumps(store, prompts, tmp_path):
    dump = tmp_path / "rollout_data"
    dump.mkdir()
    steps = {
        1: [(prompts["7"], "<think>I count three.</think><answer>3</answer>"),
            (prompts["7"], "<think>I count four.</think><answer>4</answer>"),
            (prompts["9"], "<think>I count five.</think><answer>5</answer>"),
            (prompts["9"], "<think>I count five.</think><answer>5</answer>")],
        2: [(prompts["4"], "<think>It is blue.</think><answer>The circle is blue.</answer>"),
            (prompts["4"], "<think>It is red.</think><answer>It is red.</answer>")],
    }
    for step, rows in steps.items():
        with open(dump / f"{step}.jsonl", "w") as handle:
            for prompt, output in rows:
                handle.write(json.dumps({"input": verl_input(prompt), "output": output, "gts": prompt["gold"],
                                         "score": 1.0, "step": step, "acc": True}) + "\n")
    result = run(store, dump)
    assert result.format == "verl" and result.written == 6 and not result.problems
    rows = by_row(store)
    # problems 7 and 9 share their text; the logged ground truth tells them apart
    assert [rows[("1.jsonl", i)]["prompt_id"] for i in range(4)] == [prompts[k]["prompt_id"] for k in "7799"]
    assert [rows[("1.jsonl", i)]["sample_index"] for i in range(4)] == [0, 1, 0, 1]
    assert [rows[("1.jsonl", i)]["accurate"] for i in range(4)] == [True, False, True, True]
    assert [rows[("2.jsonl", i)]["accurate"] for i in range(2)] == [True, False]
    assert {r["engine"] for r in rows.values()} == {"verl"} and rows[("2.jsonl", 0)]["step"] == 2
    assert rows[("2.jsonl", 0)]["prompt_text"] == verl_input(prompts["4"])
    assert run(store, dump / "1.jsonl").written == 0


# -- TRL, for real ------------------------------------------------------------------------------------
# Run in a child process: the trainer leaves process-wide accelerate state behind that later tests must not see.
GRPO_RUN = """
import json, sys
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

model, output_dir, prompts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def has_answer_tag(completions, **kwargs):
    return [float("<answer>" in c[0]["content"]) for c in completions]

args = GRPOConfig(output_dir=output_dir, use_cpu=True, bf16=False, max_steps=2, per_device_train_batch_size=4,
                  num_generations=2, max_completion_length=16, logging_steps=1, log_completions=True,
                  report_to=[], save_strategy="no", seed=0, disable_tqdm=True)
dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": text}]} for text in prompts])
GRPOTrainer(model=model, reward_funcs=[has_answer_tag], args=args, train_dataset=dataset).train()
"""


@pytest.mark.slow  # about 20 s on CPU with the tiny model's build
def test_import_the_log_of_a_real_grpo_run(store, prompts, tiny_models, tmp_path):
    model = str(tiny_models["text"])
    texts = [render(prompts["1"]), render(prompts["13"])]
    subprocess.run([sys.executable, "-c", GRPO_RUN, model, str(tmp_path / "grpo"), json.dumps(texts)],
                   check=True, capture_output=True, timeout=300)
    logs = sorted((tmp_path / "grpo" / "completions").glob("completions_*.parquet"))
    assert [p.name for p in logs] == ["completions_00001.parquet", "completions_00002.parquet"]
    assert pq.read_schema(logs[0]).names == ["step", "prompt", "completion", "has_answer_tag", "advantage"]

    result = run(store, tmp_path / "grpo", model=model)
    assert result.format == "trl" and not result.problems and result.written == 8
    rows = store.read("rollouts").to_pylist()
    assert {r["prompt_id"] for r in rows} == {prompts["1"]["prompt_id"], prompts["13"]["prompt_id"]}
    assert {r["step"] for r in rows} == {1, 2} and all(r["reward_profile"] == "veripo" for r in rows)
    assert all(r["engine"] == "trl-grpo" and r["policy_model"] == model for r in rows)
    assert run(store, tmp_path / "grpo", model=model).written == 0


@pytest.mark.slow  # builds the tiny models when no earlier test did
def test_think_tokens_counted_with_the_policy_tokenizer(store, prompts, tiny_models, tmp_path):
    from transformers import AutoTokenizer

    think = "The square drifts steadily to the right across all frames."
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"problem_id": 1, "completion": f"<think>{think}</think><answer>A</answer>"}) + "\n")
    run(store, source, tokenizer=str(tiny_models["text"]))
    expected = len(AutoTokenizer.from_pretrained(tiny_models["text"])(think, add_special_tokens=False)["input_ids"])
    assert store.read("rollouts").column("think_tokens").to_pylist() == [expected] != [len(think.split())]
