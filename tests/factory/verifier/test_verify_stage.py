"""factory verify with the rules judge on the bundled written completions: idempotency, retries, side by side."""

import polars as pl
import pytest
from pathlib import Path

from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.importer import RolloutImportConfig, import_rollouts
from factory.store import Store, TableWriter
from factory.verifier.config import VerifyConfig
from factory.verifier.run import run_verify


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def judged_store(tmp_path, sample_json):
    store = Store(tmp_path / "store")
    import_prompts(store, sample_json, ImportConfig(), show_progress=False)
    import_rollouts(store, REPO / "data/completions/sample_completions.jsonl", RolloutImportConfig(),
                    show_progress=False)
    return store


def test_every_ok_rollout_gets_exactly_one_verdict_with_rule_figures(judged_store):
    summary = run_verify(judged_store, VerifyConfig(), show_progress=False)
    verdicts = pl.from_arrow(judged_store.read("verdicts"))
    rollouts = pl.from_arrow(judged_store.read("rollouts"))
    assert verdicts.height == rollouts.filter(pl.col("status") == "ok").height == summary.judged
    assert verdicts["verdict_id"].n_unique() == verdicts.height
    assert set(verdicts["status"].unique()) <= {"ok", "unparsable", "skipped"}
    assert verdicts.filter(pl.col("status").is_null()).height == 0
    ok = verdicts.filter(pl.col("status") == "ok")
    assert set(ok["label"].unique()) == {"consistent", "inconsistent"}
    assert (ok["consistent"] == (ok["label"] == "consistent")).all()
    skipped = verdicts.filter(pl.col("status") == "skipped")
    joined = skipped.join(rollouts, on="rollout_id")
    assert (joined["answer"].is_null() | joined["think"].is_null()).all()
    for column in ("fmt_ok", "truncated", "repetitive", "reflective", "rep_max_ngram_count", "think_tokens"):
        assert verdicts[column].null_count() == 0, column
    assert judged_store.latest("verdicts").parents[0].table == "rollouts"


def test_rerun_retries_only_failed_rows(judged_store):
    first = run_verify(judged_store, VerifyConfig(), show_progress=False)
    unparsable = first.statuses["unparsable"]
    assert unparsable > 0
    again = run_verify(judged_store, VerifyConfig(), show_progress=False)
    assert again.judged == again.retried == unparsable
    assert again.already_done == first.judged - unparsable
    verdicts = pl.from_arrow(judged_store.read("verdicts"))
    assert verdicts.height == first.judged and verdicts["verdict_id"].n_unique() == first.judged
    assert verdicts.filter(pl.col("status") == "unparsable")["attempt"].unique().to_list() == [2]
    assert verdicts.filter(pl.col("status") == "ok")["attempt"].unique().to_list() == [1]


def test_error_rows_are_retried_and_replaced_never_duplicated(judged_store):
    run_verify(judged_store, VerifyConfig(), show_progress=False)
    verdicts = judged_store.read("verdicts")
    frame = pl.from_arrow(verdicts)
    broken_ids = frame.filter(pl.col("status") == "ok")["verdict_id"].head(3).to_list()
    broken = frame.with_columns(
        status=pl.when(pl.col("verdict_id").is_in(broken_ids)).then(pl.lit("error")).otherwise(pl.col("status")),
        label=pl.when(pl.col("verdict_id").is_in(broken_ids)).then(None).otherwise(pl.col("label")))
    with TableWriter(judged_store, "verdicts", stage="test-break", config={}, mode="replace") as writer:
        writer.write(broken.to_arrow())
        writer.commit()
    summary = run_verify(judged_store, VerifyConfig(), show_progress=False)
    assert summary.retried >= 3
    final = pl.from_arrow(judged_store.read("verdicts"))
    assert final.height == frame.height and final["verdict_id"].n_unique() == frame.height
    repaired = final.filter(pl.col("verdict_id").is_in(broken_ids))
    assert (repaired["status"] == "ok").all()
    assert sorted(repaired["label"].to_list()) == sorted(frame.filter(pl.col("verdict_id").is_in(broken_ids))["label"].to_list())


def test_two_verifiers_side_by_side(judged_store):
    run_verify(judged_store, VerifyConfig(), show_progress=False)
    run_verify(judged_store, VerifyConfig(verifier="rules-strict", max_ngram_repeats=2), show_progress=False)
    verdicts = pl.from_arrow(judged_store.read("verdicts"))
    counts = dict(verdicts.group_by("verifier").len().iter_rows())
    assert counts["rules"] == counts["rules-strict"] > 0
    per_rollout = verdicts.group_by("rollout_id").len()
    assert (per_rollout["len"] == 2).all()
    strict = verdicts.filter(pl.col("verifier") == "rules-strict")["repetitive"].sum()
    assert strict >= verdicts.filter(pl.col("verifier") == "rules")["repetitive"].sum()


def test_agreement_between_verifiers(judged_store):
    from factory.stats.presets import run_preset

    run_verify(judged_store, VerifyConfig(), show_progress=False)
    run_verify(judged_store, VerifyConfig(verifier="rules-copy", max_ngram_repeats=2), show_progress=False)
    report = run_preset(judged_store, "judge_agreement").to_pylist()
    assert len(report) == 1 and report[0]["agreement"] == 1.0 and report[0]["both_judged"] > 80


def test_rule_figures_match_the_written_completions_known_problems(judged_store):
    """Each bundled completion says what it exemplifies (repetitive, truncated, reflective, malformed...);
    the verdict's rule columns must say the same."""
    import json

    run_verify(judged_store, VerifyConfig(), show_progress=False)
    verdicts = pl.from_arrow(judged_store.read("verdicts")).join(
        pl.from_arrow(judged_store.read("rollouts", columns=["rollout_id", "source_row"])), on="rollout_id")
    by_row = {r["source_row"]: r for r in verdicts.iter_rows(named=True)}
    lines = (REPO / "data/completions/sample_completions.jsonl").read_text().splitlines()
    checked = 0
    for number, line in enumerate(lines):
        expect = json.loads(line).get("expect")
        if not expect:
            continue
        verdict = by_row[number]
        for flag in ("fmt_ok", "truncated", "repetitive", "reflective", "accurate"):
            assert verdict[flag] == expect[flag], (number, flag, json.loads(line)["note"])
        checked += 1
    assert checked == len(lines)
