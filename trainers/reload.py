"""Check that checkpoints load as they are: in transformers (this process) and in vLLM (a subprocess).

``trainers check FOLDER...`` runs both. vLLM runs in a child process (``python -m trainers.reload``) with
``VLLM_ENABLE_V1_MULTIPROCESSING=0`` so its engine starts fast and leaves nothing behind in the caller;
each checkpoint generates a few tokens from a text prompt and, for vision models, from an image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from trainers.policy import is_vision_model

_PROMPT = "How many shapes move in the clip?"


def check_transformers(folder: str | Path, *, new_tokens: int = 4) -> dict[str, Any]:
    """Load ``folder`` with the transformers Auto classes and generate ``new_tokens`` greedily."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    folder = str(folder)
    vision = is_vision_model(folder)
    if vision:
        model = AutoModelForImageTextToText.from_pretrained(folder).eval()
        processor = AutoProcessor.from_pretrained(folder)
        tokenizer = processor.tokenizer
    else:
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        processor = tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": _PROMPT}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
        logits = model(**inputs).logits
    return {"folder": folder, "vision": vision, "class": type(model).__name__,
            "new_tokens": int(out.shape[1] - inputs["input_ids"].shape[1]),
            "finite": bool(torch.isfinite(logits).all())}


def _vllm_main(folders: list[str]) -> None:
    """Child process: load each folder in ``vllm.LLM`` and print one ``RESULT {json}`` line per folder."""
    import numpy as np
    from PIL import Image
    from vllm import LLM, SamplingParams

    params = SamplingParams(n=1, temperature=0.0, max_tokens=4)
    for folder in folders:
        llm = LLM(model=folder, dtype="float32" if _cpu() else "auto", max_model_len=1024, enforce_eager=True,
                  gpu_memory_utilization=0.1 if _cpu() else 0.5, enable_chunked_prefill=False if _cpu() else None)
        tokenizer = llm.get_tokenizer()
        requests: list[Any] = [tokenizer.apply_chat_template([{"role": "user", "content": _PROMPT}], tokenize=False,
                                                             add_generation_prompt=True)]
        if is_vision_model(folder):
            image = Image.fromarray(np.full((56, 56, 3), 128, dtype=np.uint8))
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": _PROMPT}]}],
                tokenize=False, add_generation_prompt=True)
            requests.append({"prompt": text, "multi_modal_data": {"image": image}})
        outputs = llm.generate(requests, params, use_tqdm=False)
        print("RESULT " + json.dumps({"folder": folder, "tokens": [len(o.outputs[0].token_ids) for o in outputs]}),
              flush=True)
        llm.llm_engine.engine_core.shutdown()
        del llm


def _cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def check_vllm(folders: list[str | Path], *, timeout: float = 900) -> dict[str, dict[str, Any]]:
    """Load every folder in vLLM in one child process; ``{folder: {"tokens": [...]}}`` or ``{"error": ...}``."""
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    names = {str(Path(f).resolve()): str(f) for f in folders}
    done = subprocess.run([sys.executable, "-m", "trainers.reload", *names], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(Path(__file__).resolve().parent.parent))
    results: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            item = json.loads(line.removeprefix("RESULT "))
            results[names[item.pop("folder")]] = item
    for name in names.values():
        if name not in results:
            results[name] = {"error": f"vLLM did not load it (exit {done.returncode}): {done.stderr[-2000:]}"}
    return results


if __name__ == "__main__":
    _vllm_main(sys.argv[1:])
