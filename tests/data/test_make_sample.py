"""The sample task set: deterministic, well-formed Video-R1 rows, media that decode, answers that match pixels."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from helpers import load_data_module

av = pytest.importorskip("av")
REPO = Path(__file__).resolve().parents[2]
PROBLEM_TYPES = {"multiple choice", "numerical", "OCR", "free-form", "regression"}
KEYS = {"problem_id", "problem", "data_type", "problem_type", "options", "solution", "path", "data_source"}


ms = load_data_module("make_sample")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return ms.make_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def rows(sample) -> list[dict]:
    return json.loads(sample.read_text())


def _answer(row: dict) -> str:
    match = re.fullmatch(r"<answer>(.*)</answer>", row["solution"], re.S)
    assert match, f"problem {row['problem_id']}: solution {row['solution']!r} is not wrapped in <answer>"
    return match.group(1)


def _scene(row: dict):
    return ms.SCENES_BY_NAME[Path(row["path"]).stem]


def _decode(path: Path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)], fps


def _colour_mask(frame: np.ndarray, colour: str) -> np.ndarray:
    # yuv420p blurs colours at edges; the threshold keeps shape interiors and drops edge mixes
    return np.linalg.norm(frame.astype(float) - np.array(ms.PALETTE[colour], float), axis=-1) < 60


def test_two_runs_give_identical_files(sample, tmp_path):
    again = ms.make_sample(tmp_path)
    assert again.read_bytes() == sample.read_bytes()
    for media in sorted((sample.parent / "media").iterdir()):
        assert (tmp_path / "media" / media.name).read_bytes() == media.read_bytes(), media.name


def test_committed_sample_matches_the_generator(rows):
    committed = REPO / "data" / "sample"
    assert json.loads((committed / "sample.json").read_text()) == rows, "run python data/make_sample.py"
    for row in rows:
        assert (committed / row["path"]).is_file(), row["path"]
    size = sum(p.stat().st_size for p in committed.rglob("*") if p.is_file())
    assert size < 300_000


def test_rows_are_video_r1_shaped(rows, sample):
    assert [row["problem_id"] for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        assert set(row) == KEYS
        assert row["problem_type"] in PROBLEM_TYPES
        assert row["data_type"] in {"video", "image"}
        assert row["data_source"] == "veripo-sample"
        assert (sample.parent / row["path"]).is_file()
        assert row["path"].endswith(".mp4" if row["data_type"] == "video" else ".png")
        answer = _answer(row)
        if row["problem_type"] == "multiple choice":
            letters = [option.split(". ", 1)[0] for option in row["options"]]
            assert letters == list("ABCD") and answer in letters
        else:
            assert row["options"] == []
        if row["problem_type"] in {"numerical", "regression"}:
            float(answer)


def test_every_problem_type_at_least_twice(rows):
    counts = Counter(row["problem_type"] for row in rows)
    assert set(counts) == PROBLEM_TYPES
    assert min(counts.values()) >= 2
    assert Counter(row["data_type"] for row in rows)["image"] == 2


def test_media_decode_with_pyav(rows, sample):
    from PIL import Image

    for path in sorted({row["path"] for row in rows}):
        scene = ms.SCENES_BY_NAME[Path(path).stem]
        if scene.is_video:
            frames, fps = _decode(sample.parent / path)
            assert (len(frames), fps) == (scene.n_frames, ms.FPS)
        else:
            frames = [np.asarray(Image.open(sample.parent / path).convert("RGB"))]
        assert frames[0].shape == (ms.HEIGHT, ms.WIDTH, 3)


def test_shapes_are_where_the_parameters_put_them(sample):
    """Each shape's colour centroid in the decoded first and last frames sits at its planned centre."""
    for scene in ms.SCENES:
        if not scene.is_video:
            continue
        frames, _ = _decode(sample.parent / "media" / scene.filename)
        for index in (0, len(frames) - 1):
            for shape in scene.shapes:
                ys, xs = np.nonzero(_colour_mask(frames[index], shape.colour))
                cx, cy = shape.centre(index)
                if shape.kind == "triangle":
                    cy += shape.half / 3  # area centroid of an apex-up triangle lies below its box centre
                assert abs(xs.mean() + 0.5 - cx) < 1 and abs(ys.mean() + 0.5 - cy) < 1, (scene.name, shape)


def test_text_is_drawn_in_the_frames(sample):
    from PIL import Image

    for scene in ms.SCENES:
        for text in scene.texts:
            path = sample.parent / "media" / scene.filename
            frames = _decode(path)[0] if scene.is_video else [np.asarray(Image.open(path).convert("RGB"))]
            mask = ms.render_text_mask(text.text, text.scale)
            box = (slice(text.y, text.y + mask.shape[0]), slice(text.x, text.x + mask.shape[1]))
            ink = frames[-1][box].max(axis=-1) < 100
            assert (ink == mask).mean() > 0.97, (scene.name, text.text)
            if text.first_frame > 0:
                assert not (frames[text.first_frame - 1][box].max(axis=-1) < 100).any()


def test_answers_follow_from_the_parameters(rows):
    for row in rows:
        scene, answer, problem = _scene(row), _answer(row), row["problem"]
        named = re.search(r"the (square|circle|triangle)\b", problem)
        shape = scene.shape(named.group(1)) if named else None
        kind = row["problem_type"]
        if kind == "multiple choice":
            direction = {(1, 0): "right", (-1, 0): "left", (0, 1): "down", (0, -1): "up"}[
                (int(np.sign(shape.dx)), int(np.sign(shape.dy)))
            ]
            assert f"{answer}. {direction}" in row["options"], row
        elif kind == "numerical":
            counted = re.search(r"How many (squares|circles|triangles|shapes)", problem).group(1)
            expected = sum(counted in ("shapes", s.kind + "s") for s in scene.shapes)
            assert int(answer) == expected, row
        elif kind == "free-form":
            assert answer == f"The {shape.kind} is {shape.colour}.", row
        elif kind == "regression":
            if "x-coordinate" in problem:
                expected = shape.x + shape.dx * (scene.n_frames - 1)
            else:
                expected = abs(shape.dx + shape.dy) * ms.FPS
            assert float(answer) == pytest.approx(expected), row
        else:
            assert [answer] == [t.text for t in scene.texts], row


def test_count_answers_match_colours_in_the_first_frame(rows, sample):
    for row in rows:
        if row["problem_type"] != "numerical" or "shapes" not in row["problem"]:
            continue
        frames, _ = _decode(sample.parent / row["path"])
        present = [c for c in ms.PALETTE if _colour_mask(frames[0], c).sum() > 20]
        assert len(present) == int(_answer(row)), row
