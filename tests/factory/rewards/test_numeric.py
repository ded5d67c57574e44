"""Numerical: Video-R1's 2-decimal match with the decimal-point rule; VSI-Bench mean relative accuracy."""

import pytest

from factory.rewards.numeric import (
    MRA_THRESHOLDS,
    mean_relative_accuracy,
    parse_number,
    veripo_numeric,
    video_r1_numerical,
    vsi_number,
)


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3.0), (" 3.5 ", 3.5), ("1,000", 1000.0), ("-2.25", -2.25), ("1e3", 1000.0),
    ("abc", None), ("", None), ("3 meters", None), ("nan", None), ("inf", None), (None, None),
])
def test_parse_number_is_video_r1_normalize_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("3", "3", 1.0),
    # Decimal-point rule: a '.' or ',' on one side only is wrong before any parsing.
    ("3.0", "3", 0.0),
    ("3", "3.0", 0.0),
    ("1000", "1,000", 0.0),
    ("1,000", "1000", 0.0),
    ("1,000", "1,000", 1.0),
    ("1.000", "1,000", 0.0),  # both "have a decimal", then 1.0 != 1000.0
    # Both sides decimal: rounded to 2 places, then compared.
    ("3.50", "3.5", 1.0),
    ("3.14", "3.14159", 1.0),
    ("3.141", "3.14159", 1.0),
    ("3.13", "3.14159", 0.0),
    ("0.004", "0.001", 1.0),  # both round to 0.0
    ("2.5", "3.5", 0.0),
    ("-4", "-4", 1.0),
    # Unparsable sides.
    ("3 apples", "3", 0.0),
    ("three", "3", 0.0),
    ("3", "abc", 0.0),
    ("3", "", 0.0),
    ("", "3", 0.0),
    (None, "3", 0.0),
    ("3", None, 0.0),
])
def test_video_r1_numerical(answer, gold, expected):
    assert video_r1_numerical(answer, gold) == expected


def test_mra_thresholds_are_the_ten_vsi_bench_ones():
    assert [float(c) for c in MRA_THRESHOLDS] == pytest.approx([0.5 + 0.05 * k for k in range(10)])


@pytest.mark.parametrize(("pred", "gold", "expected"), [
    (10.0, 10.0, 1.0),
    (10.4, 10.0, 1.0),   # rel 0.04 < 0.05
    (10.5, 10.0, 1.0),   # rel 0.05 == 1 - 0.95: '<=' (the reference code) keeps that threshold
    (11.0, 10.0, 0.9),  # rel 0.1: C in 0.50..0.90
    (9.0, 10.0, 0.9),
    (3.9, 3.0, 0.5),     # rel 0.3: passes 1-C in {0.5, 0.45, 0.4, 0.35, 0.3}
    (14.9, 10.0, 0.1),
    (15.0, 10.0, 0.1),   # rel 0.5 == 1 - 0.5 counts with '<='
    (100.0, 10.0, 0.0),
    (-10.0, 10.0, 0.0),
    (-11.0, -10.0, 0.9),
    # rel is exactly 0.45 in decimals (floats give 0.44999999999999984): C in {0.50, 0.55} count.
    (0.145, 0.1, 0.2),
    (0.1451, 0.1, 0.1),
    (0.0, 0.0, 1.0),     # gold 0: only an exact 0 counts
    (0.1, 0.0, 0.0),
])
def test_mean_relative_accuracy(pred, gold, expected):
    assert mean_relative_accuracy(pred, gold) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("text", "value"), [
    ("3.5", 3.5), ("$3.5$", 3.5), ("3.5 meters.", 3.5), ("4.", 4.0), ("1,200", 1200.0),
    ("\\frac{7}{2}", 3.5), ("$\\frac{1}{2}$", 0.5), ("abc", None), ("about 3", None), ("", None), (None, None),
])
def test_vsi_number(text, value):
    assert vsi_number(text) == value


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("3.5", "3.5", 1.0),
    ("3.50", "3.5", 1.0),
    ("3", "3.0", 1.0),  # no decimal-point rule here
    ("7/2", "3.5", 1.0),
    ("\\frac{7}{2}", "3.5", 1.0),
    ("3.5 m", "3.5", 1.0),
    ("11", "10", 0.9),
    ("15", "10", 0.1),
    ("16", "10", 0.0),
    ("0", "0", 1.0),
    ("3", "abc", 0.0),  # unparsable gold
    ("3", "", 0.0),
    ("3", None, 0.0),
    ("three", "3", 0.0),
    ("", "3", 0.0),
    (None, "3", 0.0),
])
def test_veripo_numeric(answer, gold, expected):
    assert veripo_numeric(answer, gold) == pytest.approx(expected, abs=1e-12)
