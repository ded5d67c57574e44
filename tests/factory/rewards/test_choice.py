"""Multiple choice: Video-R1 exact match; VerIPO math-verify with the option-letter fallback."""

import pytest

from factory.rewards.choice import option_letter, option_letters, veripo_choice, video_r1_choice

OPTIONS = ["A. red", "B. blue", "C. green", "D. black"]


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("B", "B", 1.0),
    (" B ", "B", 1.0),
    ("A", "B", 0.0),
    ("b", "B", 0.0),  # case-sensitive, as Video-R1
    ("B.", "B", 0.0),
    ("(B)", "B", 0.0),
    ("$B$", "B", 0.0),
    ("B. blue", "B", 0.0),
    ("", "B", 0.0),
    (None, "B", 0.0),
    ("B", None, 0.0),
    ("", "", 0.0),  # blank gold never scores
])
def test_video_r1_choice_is_exact_string_match(answer, gold, expected):
    assert video_r1_choice(answer, gold) == expected


@pytest.mark.parametrize(("text", "letter"), [
    ("B", "B"), ("$B$", "B"), ("(B)", "B"), ("[B]", "B"), ("B.", "B"), ("B:", "B"), ("B)", "B"),
    ("B. red", "B"), ("B) red", "B"), ("(B) red", "B"), ("B: red car", "B"), (" $ B $ ", "B"),
    ("b", None), ("A or B", None), ("Bed", None), ("B.red", None), ("The answer is B", None),
    ("", None), (None, None),
])
def test_option_letter_forms(text, letter):
    assert option_letter(text) == letter


def test_option_letters_from_options():
    assert option_letters(OPTIONS) == {"A", "B", "C", "D"}
    assert option_letters(["(A) yes", "(B) no"]) == {"A", "B"}
    assert option_letters(None) == set()


@pytest.mark.parametrize(("answer", "gold", "options", "expected"), [
    ("B", "B", OPTIONS, 1.0),
    ("$B$", "B", OPTIONS, 1.0),
    ("(B)", "B", OPTIONS, 1.0),
    ("B. red", "B", OPTIONS, 1.0),  # letter fallback: math-verify cannot read it
    ("B) blue", "B", None, 1.0),
    ("\\text{B}", "B", OPTIONS, 1.0),  # math-verify reads it
    ("b", "B", OPTIONS, 1.0),  # math-verify compares symbols case-insensitively
    ("A", "B", OPTIONS, 0.0),
    ("A. blue", "B", OPTIONS, 0.0),
    ("A or B", "B", OPTIONS, 0.0),
    ("$A$ or $B$", "B", OPTIONS, 0.0),
    ("B, C", "B", OPTIONS, 0.0),
    ("E. purple", "E", None, 1.0),
    ("E. purple", "E", OPTIONS, 0.0),  # letter fallback: E is not one of the options
    ("", "B", OPTIONS, 0.0),
    (None, "B", OPTIONS, 0.0),
    ("B", None, OPTIONS, 0.0),
    ("B", "  ", OPTIONS, 0.0),
])
def test_veripo_choice(answer, gold, options, expected):
    assert veripo_choice(answer, gold, options) == expected
