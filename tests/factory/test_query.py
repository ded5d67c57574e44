"""factory query: real DuckDB views over the store, versions, and refusal of anything that writes."""

import subprocess
import sys

import pytest

from factory.errors import ReadOnlyQuery, UsageError
from factory.query import run_query
from factory.store import TableWriter
from helpers import full_rows


@pytest.fixture
def filled(store):
    for n in (3, 5):
        with TableWriter(store, "prompts", stage="import", config={"n": n}) as w:
            w.write(full_rows("prompts", n))
            w.commit()
    return store


def test_views_read_the_latest_or_a_named_version(filled):
    assert run_query(filled, "select count(*) as n from prompts").column("n").to_pylist() == [5]
    assert run_query(filled, "select count(*) as n from prompts", {"prompts": "1"}).column("n").to_pylist() == [3]
    assert run_query(filled, "select count(*) as n from rollouts").column("n").to_pylist() == [0]


@pytest.mark.parametrize("sql", [
    "copy prompts to 'out.csv'",
    "attach 'other.duckdb' as other",
    "create table t as select * from prompts",
    "install httpfs",
    "set threads = 1",
    "select 1; drop view prompts",
    "insert into prompts select * from prompts",
])
def test_writes_are_refused(filled, sql):
    with pytest.raises(ReadOnlyQuery, match="read-only"):
        run_query(filled, sql)


def test_files_outside_the_store_cannot_be_read(filled, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(UsageError, match="query failed"):
        run_query(filled, f"select * from read_csv('{secret}')")


def test_cli_exit_codes_and_output(filled, tmp_path):
    base = [sys.executable, "-m", "factory.cli", "query", "--store", filled.url]
    ok = subprocess.run(base + ["select problem_type, count(*) from prompts group by 1"], capture_output=True, text=True)
    assert ok.returncode == 0 and "problem_type-0" in ok.stdout
    refused = subprocess.run(base + ["copy prompts to 'x.csv'"], capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.startswith("error: factory query is read-only")
    missing = subprocess.run(base + ["select 1", "--version", "prompts=99"], capture_output=True, text=True)
    assert missing.returncode == 1 and "prompts version '99' does not exist" in missing.stderr
    out = tmp_path / "r.parquet"
    saved = subprocess.run(base + ["select * from prompts", "--format", "parquet", "-o", str(out)],
                           capture_output=True, text=True)
    assert saved.returncode == 0
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 5
