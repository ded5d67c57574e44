"""Shared fixtures: the bundled sample tasks, tiny locally built models, fresh stores.

Everything is real: real Parquet files, real DuckDB, real vLLM engines on tiny random models that the
fixtures build offline (no weights are downloaded).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import load_data_module

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
SAMPLE_JSON = DATA / "sample" / "sample.json"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def store(tmp_path):
    from factory.store import Store

    return Store(tmp_path / "store")


@pytest.fixture(scope="session")
def sample_json() -> Path:
    assert SAMPLE_JSON.is_file(), "run `python data/make_sample.py` to build the sample tasks"
    return SAMPLE_JSON


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """The tiny text judge and Qwen2.5-VL policy, built once per session."""
    builders = load_data_module("tiny_models")
    return builders.build_all(tmp_path_factory.mktemp("models"))
