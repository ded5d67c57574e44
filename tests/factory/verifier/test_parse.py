import pytest

from factory.verifier.parse import parse_label

LABELS = ("consistent", "inconsistent")


@pytest.mark.parametrize(("raw", "status", "label"), [
    ("consistent", "ok", "consistent"),
    ("Inconsistent.", "ok", "inconsistent"),           # label with punctuation and case
    ("  **Consistent!**  ", "ok", "consistent"),        # markdown and whitespace
    ('"inconsistent"', "ok", "inconsistent"),
    ("Answer: consistent", "ok", "consistent"),
    ("Verdict - Inconsistent", "ok", "inconsistent"),
    ("<think>The reasoning says B, the answer says B.</think>\nconsistent", "ok", "consistent"),  # thinking block
    ("The reasoning concludes B and the answer is B.\nConsistent", "ok", "consistent"),  # label alone on last line
    ("consistent or inconsistent", "unparsable", None),  # both labels present
    ("It is consistent, not inconsistent", "unparsable", None),
    ("", "unparsable", None),                            # empty
    ("   \n ", "unparsable", None),
    (None, "unparsable", None),
    ("The weather is nice today.", "unparsable", None),  # unrelated text
    ("I think it is consistent with the answer", "unparsable", None),  # a label inside a sentence is not a verdict
    ("<think>hmm, consistent", "unparsable", None),      # unclosed thinking block
    ("consistently", "unparsable", None),
])
def test_strict_parsing(raw, status, label):
    got_status, got_label, error = parse_label(raw, LABELS)
    assert (got_status, got_label) == (status, label)
    assert (error is None) == (status == "ok")


def test_reasons_are_specific():
    assert parse_label("", LABELS)[2] == "empty output"
    assert parse_label("consistent and inconsistent", LABELS)[2] == "more than one label in the output"
    assert parse_label("nope", LABELS)[2] == "no label in the output"
