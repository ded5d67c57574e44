"""math-verify wrapper: equivalence, numbers from LaTeX, never raising, usable off the main thread."""

import threading

import pytest

from factory.rewards.symbolic import math_equal, math_number


@pytest.mark.parametrize(("answer", "gold", "equal"), [
    ("0.5", "0.5", True),
    ("1/2", "0.5", True),
    ("\\frac{1}{2}", "0.5", True),
    ("$\\frac{1}{2}$", "1/2", True),
    ("B", "B", True),
    ("A", "B", False),
    ("3.0", "3", True),
    ("2", "3", False),
    ("", "3", False),
    (None, "3", False),
    ("3", None, False),
    ("\\frac{", "3", False),  # broken LaTeX: not equal, no exception
])
def test_math_equal(answer, gold, equal):
    assert math_equal(answer, gold) is equal


@pytest.mark.parametrize(("text", "value"), [
    ("3.5", 3.5), ("\\frac{7}{2}", 3.5), ("\\sqrt{4}", 2.0),
    ("x", None), ("{1, 2}", None), ("", None), (None, None),
])
def test_math_number(text, value):
    assert math_number(text) == value


def test_works_off_the_main_thread():
    results = []
    worker = threading.Thread(target=lambda: results.append(math_equal("1/2", "0.5")))
    worker.start()
    worker.join()
    assert results == [True]
