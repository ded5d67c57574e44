"""The rule that finds a stored prompt from the prompt text a trainer logged."""

import pyarrow as pa

from factory.rollouts.prompt_match import PROMPT_COLUMNS, PromptIndex


def index(*rows):
    base = dict(problem_id="1", data_source="t", options=[], gold="x", solution=None, media_uri=None,
                media_sha256=None)
    full = [{**base, "prompt_id": f"p{i}", "problem_id": str(i), **row} for i, row in enumerate(rows)]
    return PromptIndex(pa.Table.from_pylist(full).select(PROMPT_COLUMNS), "prompts version v1")


def test_whitespace_is_collapsed_and_the_problem_may_sit_inside_a_template():
    found = index(dict(problem="How many shapes\nare there?"))
    assert found.by_text("system\nBe brief.\nuser\nQ: How   many shapes are there?\nThink first.").prompt_id == "p0"


def test_the_longest_contained_problem_wins():
    found = index(dict(problem="How many shapes are there?"),
                  dict(problem="The video is 96x96. How many shapes are there?"))
    assert found.by_text("The video is 96x96. How many shapes are there? Answer.").prompt_id == "p1"
    assert found.by_text("How many shapes are there? Answer.").prompt_id == "p0"


def test_options_then_gold_break_ties_and_a_remaining_tie_is_ambiguous():
    found = index(dict(problem="Which way?", options=["A. left", "B. right"], gold="A"),
                  dict(problem="Which way?", options=["A. right", "B. left"], gold="B"),
                  dict(problem="How many?", gold="3"), dict(problem="How many?", gold="5"))
    assert found.by_text("Which way?\nA. right\nB. left").prompt_id == "p1"
    assert found.by_text("How many?", gold="<answer>5</answer>").prompt_id == "p3"
    ambiguous = found.by_text("How many?")
    assert ambiguous.prompt_id is None and "matches 2 prompts equally well" in ambiguous.problem
    missing = found.by_text("Something else entirely")
    assert missing.prompt_id is None and "prompts version v1" in missing.problem


def test_problem_ids_need_a_data_source_only_when_they_repeat():
    found = index(dict(problem="a", problem_id="7", data_source="s1"),
                  dict(problem="b", problem_id="7", data_source="s2"), dict(problem="c", problem_id="8"))
    assert found.by_problem_id("8", None).prompt_id == "p2"
    repeated = found.by_problem_id("7", None)
    assert repeated.prompt_id is None and "names 2 prompts" in repeated.problem and "data_source" in repeated.fix
    assert found.by_problem_id("7", "s2").prompt_id == "p1"
    assert found.by_problem_id("7", "s3").prompt_id is None
