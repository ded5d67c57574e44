"""``ExportConfig``: every knob of ``factory export``, documented where it is defined; and ``ExportResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from schemas import TABLES

# Row layouts. "hf" and "jsonl" are the table itself, every column; the others are trainer layouts.
FORMATS = ("hf", "jsonl", "trl-dpo", "trl-grpo", "verl")
# Tables each layout reads (the first is its default when ``table`` is left at "pairs").
FORMAT_TABLES = {
    "hf": tuple(TABLES),
    "jsonl": tuple(TABLES),
    "trl-dpo": ("pairs",),
    "trl-grpo": ("pairs", "prompts"),
    "verl": ("pairs", "prompts"),
}
IMAGE_FORMATS = ("png", "jpeg")


@dataclass
class ExportConfig:
    """Settings of ``factory export`` (section ``[export]`` of a config file).

    The output is always a Hugging Face dataset folder: ``data/<split>-00000-of-00001.<parquet|jsonl>``,
    a dataset card ``README.md`` (YAML ``configs`` + ``dataset_info``, and how the data was made) and
    ``lineage.json`` (the exported version's manifest and every ancestor's). ``format`` picks the rows.
    """

    format: str = "trl-dpo"
    """Row layout: trl-dpo (pairs -> TRL DPOTrainer), trl-grpo (prompts -> TRL GRPOTrainer), verl (prompts
    -> verl RL Parquet), hf (the table's own columns, Parquet) or jsonl (the table's own columns, JSON lines)."""
    table: str = "pairs"
    """Table to export. trl-grpo and verl take prompts, or pairs (then: the prompts the pairs ask about);
    hf and jsonl take any table."""
    version: str | None = None
    """Version of ``table`` to export: id, id prefix or sequence number (default: the latest)."""
    out: str | None = None
    """Output folder (default: exports/<table>-<version>-<format>). Must be empty unless ``overwrite``."""
    overwrite: bool = False
    """Replace an existing, non-empty output folder."""
    split: str = "train"
    """Split name of the rows (names the data file and the card's split)."""
    include_frames: bool | None = None
    """Put the sampled video frames (or the image) in the rows as ``images``, one image placeholder per frame
    in the user turn. Default: true for trl-dpo and trl-grpo (TRL has no video column: frames are how it
    sees video), false for verl (each video is referenced by URI in ``videos`` with its frame sampling, and
    qwen-vl-utils decodes it at training time). False for a trl layout makes it text-only."""
    fps: float | None = None
    """Frame sampling rate; default: the one recorded on the pair's rollout, else 2.0."""
    min_frames: int | None = None
    """Frame count floor; default 4 (rollouts do not record it)."""
    max_frames: int | None = None
    """Frame count ceiling; default: recorded on the rollout, else 16."""
    max_pixels: int | None = None
    """Pixel ceiling per frame; default: recorded on the rollout, else 128*28*28."""
    image_format: str = "png"
    """How frames are stored: png (lossless, the pixels the policy saw) or jpeg (several times smaller)."""
    template: str = "video-r1"
    """Prompt template (video-r1, veripo or a file) that renders the question for trl-grpo and verl, and for
    trl-dpo rows whose rollout did not record its prompt text (imported rollouts)."""
    system_prompt: str | None = None
    """A system message put before the user turn (none by default: the chat template adds its own)."""
    limit: int | None = None
    """Export only the first N rows (in export order) for trying things."""
    license: str = "other"
    """License written into the dataset card (a placeholder until you choose one)."""
    push: str | None = None
    """Hub dataset repo id to upload the folder to (e.g. me/veripo-pairs); nothing is uploaded when unset.
    The token comes from HF_TOKEN or `hf auth login`; it is never written anywhere."""
    private: bool = False
    """Create the Hub repo private (only when it does not exist yet)."""
    tag: str | None = None
    """Git tag for the uploaded commit (default: the exported version id)."""

    def __post_init__(self) -> None:
        if self.include_frames is None:
            self.include_frames = self.format in ("trl-dpo", "trl-grpo")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.table not in TABLES:
            raise ValueError(f"table must be one of {', '.join(TABLES)}, got {self.table!r}")
        if self.table not in FORMAT_TABLES[self.format]:
            raise ValueError(f"format {self.format} exports the {' or '.join(FORMAT_TABLES[self.format])} table, "
                             f"not {self.table}")
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be png or jpeg, got {self.image_format!r}")
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be 0 or more")
        if not self.split or "/" in self.split or "-" in self.split:
            raise ValueError(f"split must be a plain name such as train, got {self.split!r}")


@dataclass
class ExportResult:
    """What :func:`factory.export.export` wrote."""

    folder: Path
    """The dataset folder."""
    format: str
    table: str
    version: str
    """The exported version id of ``table``."""
    rows: int
    files: list[str] = field(default_factory=list)
    """Files written, relative to ``folder``."""
    warnings: list[str] = field(default_factory=list)
    pushed: str | None = None
    """URL of the tagged Hub commit when the folder was pushed."""
