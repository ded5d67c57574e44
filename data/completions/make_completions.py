"""Deterministic generator of written example completions for the sample tasks (``data/sample/sample.json``).

Each question gets six completions (the free-form ones seven), written to exemplify what the verifier and
the pair policy must tell apart: right and wrong, well formed and not, consistent and not (the reasoning
concluding one thing and the answer saying another), truncated, repetitive, reflective. Every row is in
the generic rollout-import format (``factory.rollouts.importer``) with two extra fields the import ignores:

- ``note``: what the row exemplifies;
- ``expect``: the rule columns the ``veripo`` profile should give it (``accurate``, ``fmt_ok``,
  ``truncated``, ``repetitive``, ``reflective``), which a test checks.

Run ``python data/completions/make_completions.py [--sample PATH] [--out PATH]``; running it twice gives
byte-identical output, and re-running after the sample tasks change keeps the two in step.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "written-examples"
COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
OK = dict(accurate=True, fmt_ok=True, truncated=False, repetitive=False, reflective=False)


def _gold(row: dict) -> str:
    match = re.search(r"<answer>(.*?)</answer>", row["solution"], re.DOTALL)
    return (match.group(1) if match else row["solution"]).strip()


def _subject(problem: str) -> str:
    """The thing asked about ('the square'), read from the question; 'the object' when there is none."""
    match = re.search(r"\bthe (square|circle|triangle)\b", problem)
    return f"the {match.group(1)}" if match else "the object"


def _number(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else f"{value:g}"


class Question:
    """A sample question with a right and a wrong answer and reasoning that reaches either."""

    def __init__(self, row: dict):
        self.row = row
        self.kind = row["problem_type"]
        self.gold = _gold(row)
        self.subject = _subject(row["problem"])
        if self.kind == "multiple choice":
            words = {o.split(".", 1)[0].strip(): o.split(".", 1)[1].strip() for o in row["options"]}
            letters = list(words)
            self.words = words
            self.right = self.gold
            self.wrong = letters[(letters.index(self.gold) + 1) % len(letters)]
        elif self.kind == "numerical":
            self.right, self.wrong = self.gold, _number(str(float(self.gold) + 2))
        elif self.kind == "regression":
            self.right, self.wrong = self.gold, _number(str(round(float(self.gold) * 0.4, 1)))
        elif self.kind == "free-form":
            colour = self.gold.rstrip(".").split()[-1]
            other = COLOURS[(COLOURS.index(colour) + 1) % len(COLOURS)] if colour in COLOURS else "grey"
            self.colour, self.other = colour, other
            self.right, self.wrong = self.gold, f"It is {other}."
        else:  # OCR: one character changed
            last = self.gold[-1]
            self.right, self.wrong = self.gold, self.gold[:-1] + ("2" if last != "2" else "3")

    def reasoning(self, answer: str) -> str:
        """A short chain of thought that concludes ``answer``."""
        problem = self.row["problem"]
        if self.kind == "multiple choice":
            word = self.words[answer]
            return (f"I follow {self.subject} from the first frame to the last. It starts on one side of the frame "
                    f"and drifts steadily {word}, so it moves {word}. Moving {word} is option {answer}.")
        if self.kind == "numerical":
            count = int(float(answer))
            medium = "image" if "image" in problem else "video"
            listed = ", ".join(NUMBER_WORDS[1:count + 1]) if count < len(NUMBER_WORDS) else "..."
            things = re.search(r"How many (\w+)", problem)
            things = things.group(1) if things else "things"
            return f"I count the {things} in the {medium} one at a time: {listed}. That makes {answer}."
        if self.kind == "regression":
            if "How fast" in problem:
                return (f"Between consecutive frames {self.subject} shifts by the same amount. At 8 frames per "
                        f"second that comes to about {answer} pixels per second.")
            return (f"{self.subject.capitalize()} moves at a constant speed. Tracking its centre frame by frame "
                    f"and carrying on to the last frame, it ends at about x = {answer} pixels.")
        if self.kind == "free-form":
            colour = self.colour if answer == self.right else self.other
            return (f"{self.subject.capitalize()} keeps the same fill colour in every frame, and that colour is "
                    f"{colour}.")
        spelled = " ".join(answer)
        return f"Reading the characters one at a time gives {spelled}, so the text is {answer}."

    def completion(self, think: str, answer: str | None) -> str:
        return f"<think>\n{think}\n</think>\n<answer>{answer}</answer>" if answer is not None else f"<think>\n{think}"


# Each kind: (builder, note, expected rule columns). Builders take a Question, return (completion, finish).
def _right(q):
    return q.completion(q.reasoning(q.right), q.right), "stop"


def _wrong(q):
    return q.completion(q.reasoning(q.wrong), q.wrong), "stop"


def _right_answer_wrong_reasoning(q):
    return q.completion(q.reasoning(q.wrong), q.right), "stop"


def _right_reasoning_wrong_answer(q):
    return q.completion(q.reasoning(q.right), q.wrong), "stop"


def _truncated(q):
    return f"<think>\n{q.reasoning(q.right)} Before answering I compare this with the first and the", "length"


def _reflective(q):
    think = (f"{q.reasoning(q.wrong)} Wait, let me re-check that against the frames. {q.reasoning(q.right)} "
             "So my first reading was a mistake.")
    return q.completion(think, q.right), "stop"


def _repetitive(q):
    loop = " ".join(["Let me look at the frames again."] * 10)
    return q.completion(f"{q.reasoning(q.right)} {loop}", q.right), "stop"


def _no_tags(q):
    return f"{q.reasoning(q.right)} The answer is {q.right}.", "stop"


def _answer_first(q):
    return f"<answer>{q.right}</answer>\n<think>\n{q.reasoning(q.right)}\n</think>", "stop"


def _two_answers(q):
    return f"{q.completion(q.reasoning(q.right), q.right)}\n<answer>{q.wrong}</answer>", "stop"


def _empty_think(q):
    return f"<think></think>\n<answer>{q.right}</answer>", "stop"


def _rouge_overlap(q):
    sentence = q.gold.replace(q.colour, q.other)
    return q.completion(q.reasoning(q.wrong), sentence), "stop"


CORE = [
    (_right, "right, well formed, consistent", OK),
    (_wrong, "wrong, well formed, consistent (the reasoning reaches the wrong answer it gives)",
     {**OK, "accurate": False}),
    (_right_answer_wrong_reasoning, "inconsistent: the reasoning concludes a wrong answer, the answer tag "
     "gives the right one (accurate by the rules, inconsistent for the judge)", OK),
    (_truncated, "truncated: stopped at the token budget (finish_reason length) inside think, no answer",
     {**OK, "accurate": False, "fmt_ok": False, "truncated": True}),
]
EXTRAS = [
    (_reflective, "reflective: a first wrong reading, 'Wait, let me re-check', then the right answer",
     {**OK, "reflective": True}),
    (_repetitive, "repetitive: the same sentence looped ten times inside think, right answer",
     {**OK, "repetitive": True}),
    (_right_reasoning_wrong_answer, "inconsistent: the reasoning concludes the right answer, the answer tag "
     "gives a wrong one", {**OK, "accurate": False}),
    (_no_tags, "malformed: right reasoning and answer in plain text, no think or answer tags",
     {**OK, "accurate": False, "fmt_ok": False, "truncated": True}),
    (_answer_first, "malformed: the answer block comes before the think block (right answer)",
     {**OK, "fmt_ok": False}),
    (_two_answers, "malformed: two answer blocks, right then wrong (only the first is read)",
     {**OK, "fmt_ok": False}),
    (_empty_think, "well formed but no reasoning: an empty think block, right answer", OK),
]
ROUGE = (_rouge_overlap, "wrong colour in the gold's own sentence frame: ROUGE still scores it accurate (a known "
         "weakness of the free-form reward; the judge and the pair policy must not trust it)", OK)


def make_completions(sample: Path = HERE.parent / "sample" / "sample.json",
                     out: Path = HERE / "sample_completions.jsonl") -> Path:
    """Write the example completions for every question of ``sample``; returns ``out``."""
    rows = json.loads(Path(sample).read_text(encoding="utf-8"))
    lines = []
    for number, row in enumerate(rows):
        q = Question(row)
        kinds = CORE + [EXTRAS[(2 * number) % len(EXTRAS)], EXTRAS[(2 * number + 1) % len(EXTRAS)]]
        if q.kind == "free-form":
            kinds.append(ROUGE)
        for build, note, expect in kinds:
            completion, finish = build(q)
            lines.append(json.dumps({"problem_id": row["problem_id"], "data_source": row.get("data_source"),
                                     "model": MODEL, "completion": completion, "finish_reason": finish,
                                     "note": note, "expect": expect}, ensure_ascii=False))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=Path, default=HERE.parent / "sample" / "sample.json",
                        help="sample tasks (Video-R1 JSON)")
    parser.add_argument("--out", type=Path, default=HERE / "sample_completions.jsonl", help="output JSONL")
    args = parser.parse_args(argv)
    path = make_completions(args.sample, args.out)
    print(f"wrote {path} ({sum(1 for _ in path.open())} completions)")


if __name__ == "__main__":
    main()
