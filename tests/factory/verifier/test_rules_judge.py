import json
import re
from pathlib import Path

import pytest

from factory.verifier.prompt import DEFAULT, cut_think, load_judge_prompt
from factory.verifier.rules_judge import conclusion_of, rules_verdict

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("think", "answer", "problem_type", "label"), [
    ("The square drifts right. Moving right is option A.", "A", "multiple choice", "consistent"),
    ("The square drifts up. Moving up is option B.", "A", "multiple choice", "inconsistent"),
    ("Hmm. So the answer is (C).", "C", "multiple choice", "consistent"),
    ("I count one, two, three. That makes 3.", "3", "numerical", "consistent"),
    ("I count one, two, three. That makes 3.", "5", "numerical", "inconsistent"),
    ("It ends at about x = 73.5 pixels.", "73.5", "regression", "consistent"),
    ("Final answer: 12.", "12.0", "numerical", "consistent"),
    ("Reading the characters gives K 9 Z, so the text is K9Z.", "K9Z", "OCR", "consistent"),
    ("Reading the characters gives K 9 2, so the text is K92.", "K9Z", "OCR", "inconsistent"),
    ("The circle keeps one colour, and that colour is blue.", "The circle is blue.", "free-form", "consistent"),
    ("The circle keeps one colour, and that colour is green.", "The circle is blue.", "free-form", "inconsistent"),
    ("First it looks like B. Wait, let me re-check. It is option A. So my first reading was a mistake.", "A",
     "multiple choice", "consistent"),
])
def test_rules_judge_labels(think, answer, problem_type, label):
    status, got, error, raw = rules_verdict(think, answer, problem_type, "What colour is the circle?")
    assert (status, got) == ("ok", label) and raw.startswith("conclusion: ")


def test_no_conclusion_is_unparsable_not_a_guess():
    assert rules_verdict("I am not sure.", "A", "multiple choice")[:2] == ("unparsable", None)
    assert rules_verdict("", "A", "multiple choice")[:2] == ("unparsable", None)
    assert conclusion_of(None, "OCR") is None


def test_rules_judge_on_the_bundled_written_completions():
    """Every written completion labelled consistent/inconsistent in its note gets that label."""
    sample = {str(r["problem_id"]): r for r in json.loads((REPO / "data/sample/sample.json").read_text())}
    rows = [json.loads(line) for line in (REPO / "data/completions/sample_completions.jsonl").read_text().splitlines()]
    checked = 0
    for row in rows:
        note = row["note"]
        expected = "inconsistent" if note.startswith("inconsistent") else \
            "consistent" if note.startswith(("right, well formed, consistent", "wrong, well formed, consistent")) else None
        if expected is None:
            continue
        think = re.search(r"<think>(.*?)</think>", row["completion"], re.S).group(1)
        answer = re.search(r"<answer>(.*?)</answer>", row["completion"], re.S).group(1)
        prompt = sample[str(row["problem_id"])]
        assert rules_verdict(think, answer, prompt["problem_type"], prompt["problem"])[1] == expected, row
        checked += 1
    assert checked >= 50


def test_long_think_keeps_its_end_and_records_the_cut():
    think = "start " + "filler words here " * 500 + "so the answer is B"
    cut, removed = cut_think(think, 200)
    assert cut.startswith("[...] ") and cut.endswith("so the answer is B")
    assert removed == len(think) - (len(cut) - len("[...] ")) and removed > 0
    assert cut_think("short", 200) == ("short", 0)


def test_judge_prompt_versions_and_files(tmp_path):
    assert load_judge_prompt(None) is DEFAULT and DEFAULT.key.startswith("consistency-v1@")
    path = tmp_path / "judge.toml"
    path.write_text('version = "mine-v2"\nuser = "Q {question} T {think} A {answer}"\n')
    mine = load_judge_prompt(str(path))
    assert mine.key.startswith("mine-v2@") and mine.hash != DEFAULT.hash
    messages = mine.messages(question="q", think="t", answer="a")
    assert messages == [{"role": "user", "content": "Q q T t A a"}]
