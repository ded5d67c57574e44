"""OCR: 1 - WER via jiwer, clamped to [0, 1], words split on any whitespace as Video-R1 does."""

import pytest

from factory.rewards.ocr import video_r1_ocr, word_error_rate


@pytest.mark.parametrize(("reference", "hypothesis", "wer"), [
    ("a b c d", "a b c d", 0.0),
    ("a b c d", "a x c d", 0.25),
    ("a b c d", "a c d", 0.25),
    ("hello world", "hello", 0.5),
    ("hello world", "hello world foo bar baz", 1.5),
    ("hello\nworld", "hello  world", 0.0),  # Video-R1 splits on any whitespace
    ("a b", "", 1.0),
    ("", "", 0.0),  # Video-R1 divides by max(1, 0)
    ("", "a b", 2.0),
])
def test_word_error_rate(reference, hypothesis, wer):
    assert word_error_rate(reference, hypothesis) == pytest.approx(wer)


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("STOP AHEAD", "STOP AHEAD", 1.0),
    ("STOP", "STOP AHEAD", 0.5),
    ("stop ahead", "STOP AHEAD", 0.0),  # case matters, as in Video-R1
    ("a x c d", "a b c d", 0.75),
    ("hello world foo bar baz", "hello world", 0.0),  # 1 - 1.5 clamped
    ("", "hello", 0.0),
    (None, "hello", 0.0),
    ("hello", None, 0.0),
    ("hello", "   ", 0.0),
])
def test_video_r1_ocr(answer, gold, expected):
    assert video_r1_ocr(answer, gold) == pytest.approx(expected)
