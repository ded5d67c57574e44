"""Builders for the tiny random-weight models the tests and demos run on, offline and in well under a second.

Two models, each a folder that ``transformers`` and vLLM load like a real checkpoint:

- :func:`build_text_model`: a Qwen2-style causal LM (hidden 128, 2 layers, head_dim 32).
- :func:`build_vl_model`: a Qwen2.5-VL (text hidden 64, 2 heads, 1 KV head, head_dim 32, mrope [4, 6, 6];
  vision depth 2, hidden 32, out 64) with image and video processor files and small ``max_pixels``.

Both use a byte-level BPE tokenizer trained here on a fixed corpus, with ChatML special tokens (plus the
Qwen2.5-VL vision tokens for the VL model) and the Qwen2.5-VL chat template (ChatML, default system prompt
"You are a helpful assistant.", image/video content parts). eos is ``<|im_end|>``, pad ``<|endoftext|>``.
Their outputs are random text.

Why the tokenizer is trained with Qwen2's normalizer and split regex: in transformers 5, ``AutoTokenizer``
loads any folder whose config says ``qwen2``/``qwen2_5_vl`` as ``Qwen2Tokenizer``, which rebuilds its own
pre-tokenizer from vocab and merges and ignores a pinned ``tokenizer_class``. Training with the same
pre-tokenizer keeps token ids identical; each build checks that round trip and raises if it breaks.

Builds are cached: the folder holds a stamp with a hash of the builder's settings, and a build whose stamp
matches returns at once. Run ``python data/tiny_models.py --out DIR`` to build both under ``DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILDER_VERSION = 1  # bump when the build changes in a way the settings below do not capture
STAMP_FILE = ".tiny-model-stamp"

# Copied from transformers' Qwen2Tokenizer (PRETOKENIZE_REGEX); must stay identical, see the module docstring.
QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"""
    r"""\s+(?!\S)|\s+"""
)
CHATML_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Qwen2.5-VL's special tokens after the ChatML ones, in the order of its tokenizer.
VISION_TOKENS = (
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2.5-VL's chat template: string or list content; image/video parts become vision placeholders.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Training text for the tokenizer: the kinds of strings the factory handles (questions, reasoning, tags).
CORPUS = """\
The quick brown fox jumps over the lazy dog. A small red square moves from the left to the right.
The blue circle moves down. The green triangle moves to the left. The purple square moves up.
How many shapes are there in the video? How many circles are there in the image? There are 3 shapes.
What colour is the circle? The circle is blue. The square is red. The triangle is yellow.
In which direction does the square move? A. left B. right C. up D. down
What word is written in the image? What code is written at the top of the video? HELLO STOP K9Z
What is the x-coordinate, in pixels from the left edge, of the centre of the square in the last frame?
How fast does the circle move, in pixels per second? The video plays at 8 frames per second.
<think>Let me look at the frames. The square starts on the left and ends on the right, so it moves right.
</think><answer>B</answer>
<think>I count the shapes one by one: a square, a circle and a triangle. That makes three.</think>
<answer>3</answer>
<think>The circle is at x = 14 in the first frame and moves 3 pixels per frame, so 24 pixels per second.
</think><answer>24</answer>
<think>The text at the top reads K, 9, Z.</think><answer>K9Z</answer>
<think>The circle is drawn in blue.</think><answer>The circle is blue.</answer>
Please think step by step inside <think> </think> tags, then give the final answer inside <answer> </answer>.
Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.
Question: Options: Answer: Solution: Reasoning: Therefore, the answer is 42. 0 1 2 3 4 5 6 7 8 9 10 100 3.14
You are a helpful assistant. The user asks a question about a video or an image and the assistant answers.
It is important that every answer can be checked: numbers, letters, words and short sentences.
"""
# Round-trip probe: chat markup, tags, numbers, odd spacing and non-ASCII text.
_PROBE = (
    "<|im_start|>user\nWhat colour is it?  Ünïcödé 😀 don't\n\n 3.14<|im_end|>\n"
    "<|im_start|>assistant\n<think>red?</think> <answer>The square is red.</answer><|im_end|>\n"
)


@dataclass(frozen=True)
class TokenizerSpec:
    """The byte-level BPE tokenizer; vocab_size is an upper bound (the corpus may yield fewer merges)."""

    vocab_size: int = 1024
    special_tokens: tuple[str, ...] = CHATML_TOKENS
    eos_token: str = "<|im_end|>"
    pad_token: str = "<|endoftext|>"


@dataclass(frozen=True)
class TextModelSpec:
    """Qwen2 causal LM; head_dim = hidden_size / num_attention_heads must be >= 32 for vLLM's CPU kernels."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 4096
    rope_theta: float = 10000.0
    # Std of the random weights. transformers' 0.02 makes the next-token distribution almost uniform, so
    # one sampling seed gives the same text whatever the prompt; 0.2 makes outputs depend on the input.
    initializer_range: float = 0.2
    seed: int = 0
    tokenizer: TokenizerSpec = TokenizerSpec()


@dataclass(frozen=True)
class VLModelSpec:
    """Qwen2.5-VL; ``sum(mrope_section)`` must equal head_dim / 2 (here 64 / 2 heads / 2 = 16)."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    max_position_embeddings: int = 4096
    rope_theta: float = 1000000.0
    mrope_section: tuple[int, int, int] = (4, 6, 6)
    vision_depth: int = 2
    vision_hidden_size: int = 32
    vision_intermediate_size: int = 64
    vision_num_heads: int = 1
    # Pixel budgets (multiples of 28 x 28): a 96x96 frame becomes 84x84, i.e. 9 tokens per 2 frames.
    image_min_pixels: int = 4 * 28 * 28
    image_max_pixels: int = 16 * 28 * 28
    video_min_pixels: int = 4 * 28 * 28
    video_max_pixels: int = 16 * 28 * 28
    video_fps: float = 2.0  # frames per second sampled when the processor samples frames itself
    initializer_range: float = 0.2  # see TextModelSpec
    seed: int = 0
    tokenizer: TokenizerSpec = TokenizerSpec(special_tokens=CHATML_TOKENS + VISION_TOKENS)


def settings_hash(spec: Any) -> str:
    """Hash of everything that decides the built files: the spec, corpus, template and library versions."""
    payload = {
        "builder": BUILDER_VERSION,
        "kind": type(spec).__name__,
        "spec": dataclasses.asdict(spec),
        "corpus": CORPUS,
        "split_regex": QWEN2_SPLIT_REGEX,
        "chat_template": CHAT_TEMPLATE,
        # importlib.metadata, not imports: a cache hit must not pay for importing transformers
        "versions": [importlib.metadata.version("transformers"), importlib.metadata.version("tokenizers")],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def build_tokenizer(spec: TokenizerSpec):
    """Train the BPE on CORPUS and wrap it as a ``PreTrainedTokenizerFast`` with the chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=list(spec.special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(CORPUS.splitlines(keepends=True), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=spec.eos_token,
        pad_token=spec.pad_token,
        unk_token=None,
        additional_special_tokens=[t for t in spec.special_tokens if t not in (spec.eos_token, spec.pad_token)],
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )


def check_tokenizer_round_trip(model_dir: Path, tokenizer) -> None:
    """Raise if ``AutoTokenizer`` on ``model_dir`` tokenizes or templates differently from ``tokenizer``."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(model_dir)
    expected, got = tokenizer(_PROBE)["input_ids"], loaded(_PROBE)["input_ids"]
    messages = [{"role": "user", "content": "Hi"}]
    problems = []
    if expected != got:
        problems.append(f"ids differ: built {expected[:12]}... vs AutoTokenizer {got[:12]}...")
    if loaded.decode(got) != _PROBE:
        problems.append(f"decode is not lossless: {loaded.decode(got)!r}")
    if loaded.eos_token != tokenizer.eos_token or loaded.pad_token != tokenizer.pad_token:
        problems.append(f"eos/pad became {loaded.eos_token!r}/{loaded.pad_token!r}")
    template = dict(tokenize=False, add_generation_prompt=True)
    if loaded.apply_chat_template(messages, **template) != tokenizer.apply_chat_template(messages, **template):
        problems.append("chat template renders differently")
    if problems:
        raise RuntimeError(
            f"{model_dir}: AutoTokenizer ({type(loaded).__name__}) does not reproduce the built tokenizer: "
            + "; ".join(problems)
            + ". Keep the BPE's pre-tokenizer identical to transformers' Qwen2Tokenizer."
        )


def _token_ids(tokenizer) -> dict[str, int]:
    return {token: tokenizer.convert_tokens_to_ids(token) for token in tokenizer.all_special_tokens}


def _generation_config(tokenizer):
    from transformers import GenerationConfig

    ids = _token_ids(tokenizer)
    return GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
    )


def _write_text_model(out: Path, spec: TextModelSpec) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer(spec.tokenizer)
    ids = _token_ids(tokenizer)
    config = Qwen2Config(
        vocab_size=len(tokenizer),  # exact: a random model samples every id, so none may lack a token
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        tie_word_embeddings=True,
        initializer_range=spec.initializer_range,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        dtype="float32",
    )
    torch.manual_seed(spec.seed)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config = _generation_config(tokenizer)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    check_tokenizer_round_trip(out, tokenizer)


def _write_vl_model(out: Path, spec: VLModelSpec) -> None:
    import torch
    from transformers import (
        AutoProcessor,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = build_tokenizer(spec.tokenizer)
    ids = _token_ids(tokenizer)
    head_dim = spec.hidden_size // spec.num_attention_heads
    if 2 * sum(spec.mrope_section) != head_dim:
        raise ValueError(f"mrope_section {spec.mrope_section} must sum to head_dim/2 = {head_dim // 2}")
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=spec.hidden_size,
            intermediate_size=spec.intermediate_size,
            num_hidden_layers=spec.num_hidden_layers,
            num_attention_heads=spec.num_attention_heads,
            num_key_value_heads=spec.num_key_value_heads,
            max_position_embeddings=spec.max_position_embeddings,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": spec.rope_theta,
                "mrope_section": list(spec.mrope_section),
            },
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=True,
            initializer_range=spec.initializer_range,
        ),
        vision_config=dict(
            depth=spec.vision_depth,
            hidden_size=spec.vision_hidden_size,
            intermediate_size=spec.vision_intermediate_size,
            num_heads=spec.vision_num_heads,
            out_hidden_size=spec.hidden_size,
            fullatt_block_indexes=[spec.vision_depth - 1],
            tokens_per_second=2,
            initializer_range=spec.initializer_range,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
        initializer_range=spec.initializer_range,
        dtype="float32",
    )
    torch.manual_seed(spec.seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = _generation_config(tokenizer)
    model.save_pretrained(out)
    # The layout of the released Qwen2.5-VL checkpoints: preprocessor_config.json (images) and
    # video_preprocessor_config.json beside the tokenizer files, which AutoProcessor and vLLM both read.
    Qwen2VLImageProcessor(min_pixels=spec.image_min_pixels, max_pixels=spec.image_max_pixels).save_pretrained(out)
    Qwen2VLVideoProcessor(
        min_pixels=spec.video_min_pixels,
        max_pixels=spec.video_max_pixels,
        fps=spec.video_fps,
        cap_pixels_per_frame=True,  # qwen-vl-utils' total pixel budget; unset, transformers warns on every call
    ).save_pretrained(out)
    tokenizer.save_pretrained(out)
    check_tokenizer_round_trip(out, tokenizer)
    processor = AutoProcessor.from_pretrained(out)
    if not isinstance(processor, Qwen2_5_VLProcessor) or processor.chat_template != CHAT_TEMPLATE:
        raise RuntimeError(f"{out}: AutoProcessor gave {type(processor).__name__} without the chat template")


def _build_cached(out_dir: Path | str, spec: Any, write) -> Path:
    """Build into a temporary sibling and rename it into place, unless ``out_dir``'s stamp already matches."""
    out = Path(out_dir)
    digest = settings_hash(spec)
    stamp = out / STAMP_FILE
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it owner-only; give it a normal folder's permissions
    try:
        write(tmp, spec)
        (tmp / STAMP_FILE).write_text(digest + "\n")
        if out.exists():
            shutil.rmtree(out)
        try:
            os.rename(tmp, out)
        except OSError:
            # Another process finished the same build first; theirs is as good as ours.
            if not (stamp.is_file() and stamp.read_text().strip() == digest):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_text_model(out_dir: Path | str, spec: TextModelSpec = TextModelSpec()) -> Path:
    """Tiny random Qwen2 causal LM with tokenizer and generation config in ``out_dir``; returns ``out_dir``."""
    return _build_cached(out_dir, spec, _write_text_model)


def build_vl_model(out_dir: Path | str, spec: VLModelSpec = VLModelSpec()) -> Path:
    """Tiny random Qwen2.5-VL with tokenizer, image and video processors in ``out_dir``; returns ``out_dir``."""
    return _build_cached(out_dir, spec, _write_vl_model)


def build_all(root: Path | str) -> dict[str, Path]:
    """Both models under ``root``: ``{"text": root/"tiny-qwen2", "vl": root/"tiny-qwen2.5-vl"}``."""
    root = Path(root)
    return {
        "text": build_text_model(root / "tiny-qwen2"),
        "vl": build_vl_model(root / "tiny-qwen2.5-vl"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to build the models under")
    args = parser.parse_args(argv)
    for name, path in build_all(args.out).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
