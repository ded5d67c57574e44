"""Deterministic generator of the small sample task set (Video-R1 JSON format) used by tests and demos.

Every clip is synthetic: coloured shapes on a plain background, moving at constant speed, and sometimes
text drawn with a hand-made 5x7 bitmap font. Each gold answer is computed from the parameters the clip was
drawn from (direction from the velocity, count from the shape list, ...), so the answers are right by
construction and a test can check them against the decoded pixels.

Output (default ``data/sample/``)::

    sample.json        a JSON list of Video-R1 rows: problem_id, problem, data_type, problem_type,
                       options, solution ("<answer>...</answer>"), path (relative to the JSON), data_source
    media/clip_XX.mp4  libx264, yuv420p, 96x96, 8 fps, 3 s
    media/image_XX.png

Run ``python data/make_sample.py [--out DIR]``; running it twice gives byte-identical JSON.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIDTH = 96
HEIGHT = 96
FPS = 8
N_FRAMES = 24  # 3 s at 8 fps
DATA_SOURCE = "veripo-sample"
BACKGROUND = (235, 235, 235)
TEXT_COLOUR = (20, 20, 20)
# Well-separated colours, so a test can find each shape by colour after lossy yuv420p encoding.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 60, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 40, 190),
    "orange": (245, 125, 20),
}
DIRECTIONS = ("left", "right", "up", "down")
SEED = 1234  # fixes the order of multiple-choice options

# 5x7 bitmap glyphs, one string of 7 rows per character ('#' = ink).
_GLYPHS = {
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "###.. #..#. #...# #...# #...# #..#. ###..",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    " ": "..... ..... ..... ..... ..... ..... .....",
}


@dataclass(frozen=True)
class Shape:
    """A filled shape whose centre moves ``(dx, dy)`` pixels per frame from ``(x, y)`` at frame 0."""

    kind: str  # "square" | "circle" | "triangle"
    colour: str  # a key of PALETTE
    x: float
    y: float
    dx: float = 0.0
    dy: float = 0.0
    half: int = 7  # half the side (square, triangle) or the radius (circle), in pixels

    def centre(self, frame: int) -> tuple[float, float]:
        return self.x + self.dx * frame, self.y + self.dy * frame

    @property
    def direction(self) -> str | None:
        """The one axis-aligned direction it moves in (image y grows downwards), None when static."""
        if self.dx == 0 and self.dy == 0:
            return None
        if self.dx != 0 and self.dy != 0:
            raise ValueError(f"{self} moves diagonally; sample shapes move along one axis")
        if self.dx:
            return "right" if self.dx > 0 else "left"
        return "down" if self.dy > 0 else "up"


@dataclass(frozen=True)
class Text:
    """Text in the bitmap font, top-left corner at ``(x, y)``, shown from ``first_frame`` on."""

    text: str
    x: int
    y: int
    scale: int = 3
    first_frame: int = 0


@dataclass(frozen=True)
class Scene:
    """One clip (``n_frames`` > 1, written as mp4) or one still image (``n_frames`` == 1, PNG)."""

    name: str
    shapes: tuple[Shape, ...] = ()
    texts: tuple[Text, ...] = ()
    n_frames: int = N_FRAMES

    @property
    def is_video(self) -> bool:
        return self.n_frames > 1

    @property
    def filename(self) -> str:
        return f"{self.name}.mp4" if self.is_video else f"{self.name}.png"

    def shape(self, kind: str) -> Shape:
        (found,) = [s for s in self.shapes if s.kind == kind]
        return found


SCENES: tuple[Scene, ...] = (
    Scene("clip_01", (Shape("square", "red", 16, 48, dx=2.5),)),
    Scene("clip_02", (Shape("circle", "blue", 48, 14, dy=3),)),
    Scene("clip_03", (Shape("triangle", "green", 80, 40, dx=-2), Shape("square", "yellow", 24, 78))),
    Scene(
        "clip_04",
        (
            Shape("square", "red", 20, 20),
            Shape("circle", "blue", 70, 24, dy=1),
            Shape("triangle", "yellow", 44, 72, dx=1),
        ),
    ),
    Scene(
        "clip_05",
        (
            Shape("circle", "red", 14, 14, half=6, dx=1),
            Shape("circle", "green", 50, 14, half=6, dy=1),
            Shape("square", "blue", 82, 30, half=6, dy=1),
            Shape("square", "orange", 24, 70, half=6, dx=1),
            Shape("triangle", "purple", 74, 78, half=6),
        ),
    ),
    Scene("clip_06", (Shape("circle", "red", 14, 70, dx=2.5),), (Text("K9Z", 22, 8),)),
    Scene("clip_07", (Shape("square", "green", 48, 20, dy=1),), (Text("STOP", 13, 62, first_frame=12),)),
    Scene("clip_08", (Shape("square", "purple", 48, 82, dy=-3),)),
    Scene("clip_09", (Shape("circle", "orange", 14, 30, dx=3), Shape("square", "green", 48, 74))),
    Scene(
        "clip_10",
        (
            Shape("square", "red", 18, 18),
            Shape("square", "blue", 78, 18),
            Shape("circle", "purple", 18, 60, dx=1.5),
            Shape("triangle", "orange", 78, 78),
        ),
    ),
    Scene("image_01", texts=(Text("HELLO", 5, 38),), n_frames=1),
    Scene(
        "image_02",
        (
            Shape("circle", "red", 24, 24, half=9),
            Shape("circle", "green", 72, 24, half=9),
            Shape("circle", "blue", 24, 72, half=9),
            Shape("square", "yellow", 72, 72, half=9),
        ),
        n_frames=1,
    ),
)
SCENES_BY_NAME = {scene.name: scene for scene in SCENES}

_VIDEO_NOTE = f"The video is {WIDTH}x{HEIGHT} pixels and plays at {FPS} frames per second."


def _fmt(value: float) -> str:
    """Numbers as a person writes them: 72, not 72.0."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Question:
    scene: str
    problem_type: str
    problem: str
    answer: str
    options: tuple[str, ...] = ()


def _direction_question(scene: Scene, kind: str, rng: random.Random) -> Question:
    shape = scene.shape(kind)
    choices = list(DIRECTIONS)
    rng.shuffle(choices)
    options = tuple(f"{letter}. {choice}" for letter, choice in zip("ABCD", choices))
    letter = "ABCD"[choices.index(shape.direction)]
    return Question(scene.name, "multiple choice", f"In which direction does the {kind} move?", letter, options)


def _count_question(scene: Scene, kind: str | None = None) -> Question:
    if kind is None:
        count = len(scene.shapes)
        where = "video" if scene.is_video else "image"
        problem = f"How many shapes are there in the {where}?"
    else:
        count = sum(s.kind == kind for s in scene.shapes)
        problem = f"How many {kind}s are there in the {'video' if scene.is_video else 'image'}?"
    return Question(scene.name, "numerical", problem, str(count))


def _colour_question(scene: Scene, kind: str) -> Question:
    colour = scene.shape(kind).colour
    problem = f"What colour is the {kind}? Answer with one sentence."
    return Question(scene.name, "free-form", problem, f"The {kind} is {colour}.")


def _final_x_question(scene: Scene, kind: str) -> Question:
    x, _ = scene.shape(kind).centre(scene.n_frames - 1)
    problem = (
        f"{_VIDEO_NOTE} What is the x-coordinate, in pixels from the left edge, of the centre of the {kind} "
        "in the last frame?"
    )
    return Question(scene.name, "regression", problem, _fmt(x))


def _speed_question(scene: Scene, kind: str) -> Question:
    shape = scene.shape(kind)
    speed = (shape.dx**2 + shape.dy**2) ** 0.5 * FPS
    problem = f"{_VIDEO_NOTE} How fast does the {kind} move, in pixels per second?"
    return Question(scene.name, "regression", problem, _fmt(speed))


def _ocr_question(scene: Scene, problem: str) -> Question:
    (text,) = scene.texts
    return Question(scene.name, "OCR", problem, text.text)


def build_questions() -> list[Question]:
    """All questions, in problem_id order; each answer computed from its scene's parameters."""
    rng = random.Random(SEED)
    s = SCENES_BY_NAME
    return [
        _direction_question(s["clip_01"], "square", rng),
        _final_x_question(s["clip_01"], "square"),
        _direction_question(s["clip_02"], "circle", rng),
        _colour_question(s["clip_02"], "circle"),
        _direction_question(s["clip_03"], "triangle", rng),
        _speed_question(s["clip_03"], "triangle"),
        _count_question(s["clip_04"]),
        _colour_question(s["clip_04"], "triangle"),
        _count_question(s["clip_05"]),
        _ocr_question(s["clip_06"], "What code is written at the top of the video?"),
        _final_x_question(s["clip_06"], "circle"),
        _ocr_question(s["clip_07"], "Which word appears in the second half of the video?"),
        _direction_question(s["clip_08"], "square", rng),
        _speed_question(s["clip_09"], "circle"),
        _direction_question(s["clip_09"], "circle", rng),
        _count_question(s["clip_10"], "square"),
        _colour_question(s["clip_10"], "circle"),
        _ocr_question(s["image_01"], "What word is written in the image?"),
        _count_question(s["image_02"], "circle"),
    ]


def render_text_mask(text: str, scale: int) -> np.ndarray:
    """Boolean ink mask of ``text`` in the bitmap font: 7*scale rows, 6*scale per character less one gap."""
    columns = []
    for i, char in enumerate(text.upper()):
        rows = _GLYPHS[char].split()
        glyph = np.array([[c == "#" for c in row] for row in rows], dtype=bool)
        if i:
            columns.append(np.zeros((7, 1), dtype=bool))
        columns.append(glyph)
    mask = np.concatenate(columns, axis=1)
    return mask.repeat(scale, axis=0).repeat(scale, axis=1)


def _shape_mask(shape: Shape, frame: int) -> np.ndarray:
    cx, cy = shape.centre(frame)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32) + 0.5
    h = shape.half
    if shape.kind == "square":
        return (np.abs(xs - cx) <= h) & (np.abs(ys - cy) <= h)
    if shape.kind == "circle":
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= h * h
    if shape.kind == "triangle":  # apex up, base at cy + h, symmetric about cx
        inside_rows = (ys >= cy - h) & (ys <= cy + h)
        half_width = (ys - (cy - h)) / 2
        return inside_rows & (np.abs(xs - cx) <= half_width)
    raise ValueError(f"unknown shape kind {shape.kind!r}")


def render_frame(scene: Scene, frame: int) -> np.ndarray:
    """RGB uint8 frame (HEIGHT, WIDTH, 3) of ``scene`` at index ``frame``."""
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    for shape in scene.shapes:
        image[_shape_mask(shape, frame)] = PALETTE[shape.colour]
    for text in scene.texts:
        if frame >= text.first_frame:
            mask = render_text_mask(text.text, text.scale)
            region = image[text.y : text.y + mask.shape[0], text.x : text.x + mask.shape[1]]
            if region.shape[:2] != mask.shape:
                raise ValueError(f"{scene.name}: text {text.text!r} does not fit in the frame")
            region[mask] = TEXT_COLOUR
    return image


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited-range yuv420p planes in PyAV's layout: (H * 3 / 2, W), Y rows then U then V.

    Done here rather than by FFmpeg's swscale, whose output can change with the input buffer's memory
    alignment: that made the same frames encode to different bytes from one run to the next.
    """
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    height, width = y.shape

    def subsample(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).reshape(height // 4, width)

    planes = np.concatenate([y, subsample(u), subsample(v)])
    return np.clip(np.round(planes), 0, 255).astype(np.uint8)


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    """Encode RGB frames as a small H.264 mp4, byte-identical from run to run (one x264 thread, bitexact)."""
    import av

    with av.open(str(path), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "medium", "threads": "1", "flags": "+bitexact"}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(rgb_to_yuv420p(array), format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_image(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, format="PNG", optimize=True)


def make_sample(out_dir: Path | str = Path(__file__).parent / "sample") -> Path:
    """Write ``sample.json`` and ``media/`` under ``out_dir``; returns the JSON path."""
    out_dir = Path(out_dir)
    media = out_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    for scene in SCENES:
        frames = [render_frame(scene, i) for i in range(scene.n_frames)]
        if scene.is_video:
            write_video(media / scene.filename, frames)
        else:
            write_image(media / scene.filename, frames[0])
    rows = []
    for problem_id, q in enumerate(build_questions(), start=1):
        scene = SCENES_BY_NAME[q.scene]
        rows.append(
            {
                "problem_id": problem_id,
                "problem": q.problem,
                "data_type": "video" if scene.is_video else "image",
                "problem_type": q.problem_type,
                "options": list(q.options),
                "solution": f"<answer>{q.answer}</answer>",
                "path": f"media/{scene.filename}",
                "data_source": DATA_SOURCE,
            }
        )
    json_path = out_dir / "sample.json"
    json_path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "sample", help="output folder")
    args = parser.parse_args(argv)
    path = make_sample(args.out)
    print(f"wrote {path} ({len(build_questions())} questions, {len(SCENES)} media files)")


if __name__ == "__main__":
    main()
