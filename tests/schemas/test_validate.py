import pyarrow as pa
import pytest

from schemas import PROMPTS, TABLES, InvalidRows, SchemaMismatch, validated
from schemas.validate import conform


def test_every_column_is_documented_and_versioned():
    for spec in TABLES.values():
        assert spec.version >= 1
        assert spec.key in spec.columns
        for field in spec.schema:
            assert len(spec.doc(field.name)) > 10, (spec.name, field.name)


def test_missing_required_column_names_it():
    with pytest.raises(SchemaMismatch, match="x.parquet: required column 'problem_id' of table 'prompts' is missing"):
        conform(PROMPTS, pa.table({"prompt_id": ["a"]}), source="x.parquet")


def test_unknown_column_is_refused_not_dropped():
    with pytest.raises(SchemaMismatch, match=r"x.parquet: unknown column\(s\) \['colour'\]"):
        conform(PROMPTS, pa.table({"prompt_id": ["a"], "colour": ["red"]}), source="x.parquet")


def test_null_required_and_repeated_keys_are_named_by_row():
    table = pa.table({"prompt_id": ["k1", "k1", "k3"], "problem_id": ["1", "2", None],
                      "problem": ["q"] * 3, "problem_type": ["OCR"] * 3, "options": [[]] * 3,
                      "data_type": ["text"] * 3, "source_file": ["f"] * 3, "source_row": [0, 1, 2],
                      "created_at": pa.array([0, 0, 0], pa.timestamp("us", tz="UTC")), "code_version": ["c"] * 3})
    with pytest.raises(InvalidRows) as info:
        validated(PROMPTS, table, source="f.json")
    lines = info.value.lines()
    assert any("f.json row 2 (id k3): field 'problem_id': is null" in line for line in lines)
    assert any("key k1 appears 2 times" in line for line in lines)
