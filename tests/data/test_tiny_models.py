"""The tiny test models: built offline, cached, tokenizer round trip, finite HF forward passes, vLLM load (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import load_data_module

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
REPO = Path(__file__).resolve().parents[2]
SAMPLE_CLIP = REPO / "data" / "sample" / "media" / "clip_01.mp4"
SAMPLE_IMAGE = REPO / "data" / "sample" / "media" / "image_01.png"


tm = load_data_module("tiny_models")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return tm.build_all(tmp_path_factory.mktemp("models"))


def _sample_video(n_frames: int = 6):
    """Frames of a sample clip, evenly sampled, with the metadata transformers and vLLM expect."""
    import av
    import numpy as np

    with av.open(str(SAMPLE_CLIP)) as container:
        fps = float(container.streams.video[0].average_rate)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    indices = np.linspace(0, len(frames) - 1, n_frames).round().astype(int).tolist()
    metadata = {
        "total_num_frames": len(frames),
        "fps": fps,
        "duration": len(frames) / fps,
        "frames_indices": indices,
    }
    return frames[indices], metadata


def test_builds_are_cached_and_rebuilt_when_settings_change(models, tmp_path):
    weights = models["text"] / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.perf_counter()
    assert tm.build_all(models["text"].parent) == models
    assert time.perf_counter() - start < 0.5
    assert weights.stat().st_mtime_ns == before
    other = tm.TextModelSpec(num_hidden_layers=1)
    assert tm.settings_hash(other) != tm.settings_hash(tm.TextModelSpec())
    rebuilt = tm.build_text_model(tmp_path / "one-layer", other)
    assert json.loads((rebuilt / "config.json").read_text())["num_hidden_layers"] == 1


def test_builds_are_deterministic(models, tmp_path):
    again = tm.build_all(tmp_path)
    for name, path in models.items():
        for file in sorted(p for p in path.iterdir() if p.is_file()):
            assert (again[name] / file.name).read_bytes() == file.read_bytes(), (name, file.name)


@pytest.mark.parametrize("name", ["text", "vl"])
def test_auto_tokenizer_round_trip(models, name):
    tokenizer = transformers.AutoTokenizer.from_pretrained(models[name])
    built = tm.build_tokenizer(tm.TextModelSpec().tokenizer if name == "text" else tm.VLModelSpec().tokenizer)
    text = "<think>The square moves right.</think> <answer>B</answer> 42.5 Ünïcödé"
    assert tokenizer(text)["input_ids"] == built(text)["input_ids"]
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How many shapes?"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt.endswith("<|im_start|>user\nHow many shapes?<|im_end|>\n<|im_start|>assistant\n")
    config = transformers.AutoConfig.from_pretrained(models[name])
    text_config = config.get_text_config()
    assert text_config.vocab_size == len(tokenizer)
    assert text_config.hidden_size // text_config.num_attention_heads >= 32  # vLLM CPU attention needs it


def test_build_fails_loudly_when_auto_tokenizer_would_disagree(monkeypatch, tmp_path):
    # a pre-tokenizer other than Qwen2Tokenizer's: AutoTokenizer rebuilds its own and the ids drift
    monkeypatch.setattr(tm, "QWEN2_SPLIT_REGEX", r"\s+|\S+")
    with pytest.raises(RuntimeError, match="does not reproduce the built tokenizer"):
        tm.build_text_model(tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_vl_special_tokens_match_config(models):
    tokenizer = transformers.AutoTokenizer.from_pretrained(models["vl"])
    config = transformers.AutoConfig.from_pretrained(models["vl"])
    ids = tokenizer.convert_tokens_to_ids
    assert config.image_token_id == ids("<|image_pad|>")
    assert config.video_token_id == ids("<|video_pad|>")
    assert config.vision_start_token_id == ids("<|vision_start|>")
    assert config.vision_end_token_id == ids("<|vision_end|>")
    for token in tm.VISION_TOKENS:
        assert tokenizer(token)["input_ids"] == [ids(token)]


def test_text_model_forward_is_finite(models):
    tokenizer = transformers.AutoTokenizer.from_pretrained(models["text"])
    model = transformers.AutoModelForCausalLM.from_pretrained(models["text"]).eval()
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What colour is the circle?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape[-1] == len(tokenizer)
    assert torch.isfinite(logits).all()


def test_vl_model_forward_on_video_and_image_is_finite(models):
    from PIL import Image
    from transformers.video_utils import VideoMetadata

    processor = transformers.AutoProcessor.from_pretrained(models["vl"])
    model = transformers.AutoModelForImageTextToText.from_pretrained(models["vl"]).eval()
    frames, metadata = _sample_video()
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "image"}, {"type": "text", "text": "Hi"}]}]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|vision_start|><|video_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>Hi" in prompt
    inputs = processor(
        text=[prompt],
        videos=[frames],
        video_metadata=[VideoMetadata(**metadata)],
        images=[Image.open(SAMPLE_IMAGE).convert("RGB")],
        return_tensors="pt",
    )
    # 96x96 frames resize to 84x84: 6x6 patches, 2x2 merged, 2 frames per temporal patch
    assert inputs["video_grid_thw"].tolist() == [[3, 6, 6]]
    assert (inputs["input_ids"] == model.config.video_token_id).sum() == 3 * 9
    with torch.no_grad():
        logits = model(**inputs).logits
    assert torch.isfinite(logits).all()


_VLLM_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"

    def main():
        import av, numpy as np
        from vllm import LLM, SamplingParams
        kind, model, clip = sys.argv[1:4]
        llm = LLM(model=model, dtype="float32", max_model_len=512, enforce_eager=True,
                  gpu_memory_utilization=0.1, enable_chunked_prefill=False)
        tokenizer = llm.get_tokenizer()
        params = SamplingParams(n=2, temperature=1.0, max_tokens=8, seed=1)
        if kind == "text":
            prompt = tokenizer.apply_chat_template([{"role": "user", "content": "How many shapes?"}],
                                                   tokenize=False, add_generation_prompt=True)
            request = prompt
        else:
            with av.open(clip) as c:
                fps = float(c.streams.video[0].average_rate)
                frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
            idx = np.linspace(0, len(frames) - 1, 6).round().astype(int).tolist()
            metadata = {"total_num_frames": len(frames), "fps": fps, "duration": len(frames) / fps,
                        "frames_indices": idx, "video_backend": "pyav", "do_sample_frames": False}
            prompt = tokenizer.apply_chat_template(
                [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Which way?"}]}],
                tokenize=False, add_generation_prompt=True)
            request = {"prompt": prompt, "multi_modal_data": {"video": [(frames[idx], metadata)]}}
        first = llm.generate([request], params)[0]
        again = llm.generate([request], params)[0]
        print("RESULT " + json.dumps({
            "texts": [c.text for c in first.outputs],
            "again": [c.text for c in again.outputs],
            "n_tokens": [len(c.token_ids) for c in first.outputs],
            "prompt_ids": list(first.prompt_token_ids),
        }))

    if __name__ == "__main__":
        main()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "vl"])
def test_loads_and_generates_in_vllm(models, tmp_path, kind):
    pytest.importorskip("vllm")
    script = tmp_path / "run_vllm.py"
    script.write_text(_VLLM_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), kind, str(models[kind]), str(SAMPLE_CLIP)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert len(result["texts"]) == 2 and all(n > 0 for n in result["n_tokens"])
    assert result["again"] == result["texts"]  # seeded sampling reproduces
    if kind == "vl":
        config = transformers.AutoConfig.from_pretrained(models["vl"])
        assert result["prompt_ids"].count(config.video_token_id) == 3 * 9
