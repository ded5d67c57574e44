"""Generation and judging engines behind one protocol, chosen by name (``vllm``, ``openai``)."""

from factory.engines.base import Engine, GenerationRequest, GenerationResult, MediaInput, Sample, Sampling

ENGINES = ("vllm", "openai")

__all__ = ["ENGINES", "Engine", "GenerationRequest", "GenerationResult", "MediaInput", "Sample", "Sampling"]
