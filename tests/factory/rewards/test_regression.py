"""Regression: 1 - relative error, floored at 0, exactly 1 when equal, gold 0 handled."""

import pytest

from factory.rewards.regression import video_r1_regression


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("10", "10", 1.0),
    ("10.0", "10", 1.0),  # no decimal-point rule for regression
    ("8", "10", 0.8),
    ("12.5", "10", 0.75),
    ("25", "10", 0.0),  # relative error 1.5, floored at 0
    ("-10", "10", 0.0),
    ("-3", "-4", 0.75),
    ("900", "1,000", 0.9),
    ("0", "0", 1.0),
    ("0.5", "0", 0.0),
    ("0", "2", 0.0),
    ("3", "abc", 0.0),
    ("abc", "3", 0.0),
    ("3", "", 0.0),
    ("3", None, 0.0),
    (None, "3", 0.0),
    ("nan", "3", 0.0),
])
def test_video_r1_regression(answer, gold, expected):
    assert video_r1_regression(answer, gold) == pytest.approx(expected, abs=1e-12)


def test_equal_answers_score_exactly_one():
    assert video_r1_regression("0.1", "0.1") == 1.0
    assert video_r1_regression("123456.789", "123456.789") == 1.0
