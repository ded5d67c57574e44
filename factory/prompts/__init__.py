"""The prompts table: importing task data (Video-R1 JSON/JSONL, Parquet, HF datasets)."""

from factory.prompts.importer import ImportConfig, ImportResult, import_prompts

__all__ = ["ImportConfig", "ImportResult", "import_prompts"]
