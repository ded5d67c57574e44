"""Named SQL queries over the store's views (``prompts``, ``rollouts``, ``verdicts``, ``pairs``).

Each preset is one DuckDB statement that scans and aggregates inside DuckDB, so it stays fast on millions
of rows and never pulls rows into Python. Every preset runs on an empty store and on a store where only
some stages have run (missing tables are empty views).

Shared conventions:
- Quality figures count only rollouts with ``status = 'ok'``; rates are means over the rows where the
  figure is set (a null figure is "not computed", not "false").
- A rollout's problem type comes from ``prompts``; rollouts whose prompt is not in the prompts version
  read ``(unknown)``.
- A *question* is one prompt within one iteration (the group of G rollouts a GRPO round sampled); its pass
  rate is the mean of ``accurate`` over its ok rollouts where ``accurate`` is set.
- The rule-based verifier is the one whose verdicts have ``engine = 'rules'`` (default name ``rules``);
  every other verifier is a judge.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from factory.errors import UsageError

RULES_VERIFIER = "rules"
UNKNOWN_TYPE = "(unknown)"


@dataclass(frozen=True)
class Preset:
    """A canned query: its name, a one-line description and its SQL."""

    name: str
    description: str
    sql: str


_TYPED_ROLLOUTS = f"""
    SELECT r.prompt_id, r.status, r.iteration, r.accurate, r.fmt_ok, r.truncated, r.repetitive,
           r.reflective, r.think_tokens, coalesce(p.problem_type, '{UNKNOWN_TYPE}') AS problem_type
    FROM rollouts r LEFT JOIN prompts p USING (prompt_id)
"""

_OVERVIEW = """
SELECT 'prompts' AS "table", count(*) AS "rows", count(DISTINCT prompt_id) AS prompts,
       NULL::BIGINT AS not_ok FROM prompts
UNION ALL
SELECT 'rollouts', count(*), count(DISTINCT prompt_id), count(*) FILTER (WHERE status <> 'ok') FROM rollouts
UNION ALL
SELECT 'verdicts', count(*), count(DISTINCT prompt_id), count(*) FILTER (WHERE status <> 'ok') FROM verdicts
UNION ALL
SELECT 'pairs', count(*), count(DISTINCT prompt_id), NULL FROM pairs
"""

_QUALITY_BY_TYPE = f"""
WITH typed AS ({_TYPED_ROLLOUTS})
SELECT CASE WHEN grouping(problem_type) = 1 THEN 'all' ELSE problem_type END AS problem_type,
       iteration,
       count(*) FILTER (WHERE status = 'ok') AS rollouts,
       count(*) FILTER (WHERE status <> 'ok') AS errors,
       avg(accurate::INT) FILTER (WHERE status = 'ok') AS accuracy,
       avg(fmt_ok::INT) FILTER (WHERE status = 'ok') AS format_rate,
       avg(truncated::INT) FILTER (WHERE status = 'ok') AS truncation_rate,
       avg(repetitive::INT) FILTER (WHERE status = 'ok') AS repetition_rate,
       avg(reflective::INT) FILTER (WHERE status = 'ok') AS reflection_rate,
       avg(think_tokens) FILTER (WHERE status = 'ok') AS mean_think_tokens,
       quantile_cont(think_tokens, 0.5) FILTER (WHERE status = 'ok') AS median_think_tokens,
       quantile_cont(think_tokens, 0.9) FILTER (WHERE status = 'ok') AS p90_think_tokens
FROM typed
GROUP BY GROUPING SETS ((problem_type, iteration), ())
ORDER BY grouping(problem_type) DESC, problem_type, iteration NULLS FIRST
"""

_CONSISTENCY_BY_TYPE = f"""
SELECT v.verifier, coalesce(p.problem_type, '{UNKNOWN_TYPE}') AS problem_type, v.iteration,
       count(*) AS judged,
       count(*) FILTER (WHERE v.status = 'ok') AS ok,
       count(*) FILTER (WHERE v.status = 'ok' AND v.consistent) AS consistent,
       avg(v.consistent::INT) FILTER (WHERE v.status = 'ok') AS consistency_rate,
       avg(v.consistent::INT) FILTER (WHERE v.status = 'ok' AND v.accurate) AS consistency_rate_accurate,
       count(*) FILTER (WHERE v.status = 'unparsable') AS unparsable,
       count(*) FILTER (WHERE v.status = 'error') AS errors
FROM verdicts v LEFT JOIN prompts p USING (prompt_id)
GROUP BY ALL
ORDER BY v.verifier, problem_type, v.iteration NULLS FIRST
"""

# Bin width: the power of two that covers the 99th percentile in at most 16 bins (1 for short thinks);
# bin 20 and above are one open bin (bin_end null) so a long tail does not flatten the histogram.
_THINK_LENGTH_HIST = f"""
WITH typed AS ({_TYPED_ROLLOUTS}),
lengths AS (SELECT problem_type, think_tokens AS n FROM typed WHERE status = 'ok' AND think_tokens IS NOT NULL),
width AS (
    SELECT CASE WHEN coalesce(quantile_cont(n, 0.99), 0) <= 16 THEN 1
                ELSE (2 ** ceil(log2(quantile_cont(n, 0.99) / 16.0)))::BIGINT END AS w
    FROM lengths)
SELECT problem_type, least(n // w, 20) * w AS bin_start,
       CASE WHEN n // w >= 20 THEN NULL ELSE (n // w) * w + w END AS bin_end, count(*) AS rollouts
FROM lengths, width
GROUP BY ALL
ORDER BY problem_type, bin_start
"""

_QUESTIONS = f"""
    SELECT q.prompt_id, q.iteration, q.rollouts, q.pass_rate,
           coalesce(p.problem_type, '{UNKNOWN_TYPE}') AS problem_type, p.problem_id
    FROM (SELECT prompt_id, iteration, count(*) AS rollouts, avg(accurate::INT) AS pass_rate
          FROM rollouts WHERE status = 'ok' AND accurate IS NOT NULL
          GROUP BY prompt_id, iteration) q
    LEFT JOIN prompts p USING (prompt_id)
"""

# The pass-rate bins, as column names of pass_rate_hist: 0, (0, 0.25], ..., (0.75, 1), 1.
PASS_RATE_BINS = ("0", "(0, 0.25]", "(0.25, 0.5]", "(0.5, 0.75]", "(0.75, 1)", "1")

_PASS_RATE_HIST = f"""
WITH questions AS ({_QUESTIONS})
SELECT CASE WHEN grouping(problem_type) = 1 THEN 'all' ELSE problem_type END AS problem_type,
       count(*) AS questions, avg(pass_rate) AS mean_pass_rate,
       count(*) FILTER (WHERE pass_rate = 0) AS "0",
       count(*) FILTER (WHERE pass_rate > 0 AND pass_rate <= 0.25) AS "(0, 0.25]",
       count(*) FILTER (WHERE pass_rate > 0.25 AND pass_rate <= 0.5) AS "(0.25, 0.5]",
       count(*) FILTER (WHERE pass_rate > 0.5 AND pass_rate <= 0.75) AS "(0.5, 0.75]",
       count(*) FILTER (WHERE pass_rate > 0.75 AND pass_rate < 1) AS "(0.75, 1)",
       count(*) FILTER (WHERE pass_rate = 1) AS "1"
FROM questions
GROUP BY GROUPING SETS ((problem_type), ())
ORDER BY grouping(problem_type) DESC, problem_type
"""

_EASY_QUESTIONS = f"""
WITH questions AS ({_QUESTIONS})
SELECT prompt_id, problem_id, problem_type, iteration, rollouts
FROM questions WHERE pass_rate = 1
ORDER BY problem_type, iteration NULLS FIRST, prompt_id
"""

_JUDGE_FAILURES = """
SELECT verifier, status,
       left(coalesce(nullif(trim(split_part(error, ':', 1)), ''),
                     CASE WHEN status = 'unparsable' THEN 'unparsable output' ELSE 'unknown' END), 60) AS kind,
       count(*) AS verdicts, max(attempt) AS max_attempt, min(verdict_id) AS example_verdict_id,
       left(arg_min(coalesce(error, raw_output, ''), verdict_id), 120) AS example
FROM verdicts
WHERE status <> 'ok'
GROUP BY ALL
ORDER BY verdicts DESC, verifier, status, kind
"""

_PAIRS_BY_TYPE = """
SELECT policy, pair_type, count(*) AS pairs, count(DISTINCT prompt_id) AS prompts,
       avg(margin) AS mean_margin, min(margin) AS min_margin, max(margin) AS max_margin,
       avg(chosen_think_tokens) AS mean_chosen_think_tokens,
       avg(rejected_think_tokens) AS mean_rejected_think_tokens
FROM pairs
GROUP BY ALL
ORDER BY policy, pair_type
"""

# A verifier is the rules verifier when its verdicts come from the rules engine (or it is named 'rules').
# Cohen's kappa corrects raw agreement for the agreement two raters with these label rates get by chance.
_JUDGE_AGREEMENT = f"""
WITH labels AS (
    SELECT rollout_id, verifier, arg_max(consistent, created_at) AS consistent,
           bool_or(coalesce(engine, '') = 'rules' OR verifier = '{RULES_VERIFIER}') AS is_rules
    FROM verdicts WHERE status = 'ok' AND consistent IS NOT NULL
    GROUP BY rollout_id, verifier),
paired AS (
    SELECT a.verifier AS verifier_a, b.verifier AS verifier_b,
           bool_or(a.is_rules) AS a_rules, bool_or(b.is_rules) AS b_rules, count(*) AS both_judged,
           count(*) FILTER (WHERE a.consistent = b.consistent) AS agree,
           avg(a.consistent::INT) AS a_consistent_rate, avg(b.consistent::INT) AS b_consistent_rate
    FROM labels a JOIN labels b ON a.rollout_id = b.rollout_id
     AND (a.is_rules::INT::VARCHAR || a.verifier) < (b.is_rules::INT::VARCHAR || b.verifier)
    GROUP BY a.verifier, b.verifier),
chance AS (
    SELECT *, a_consistent_rate * b_consistent_rate + (1 - a_consistent_rate) * (1 - b_consistent_rate) AS p_e
    FROM paired)
SELECT CASE WHEN a_rules THEN 'rules vs rules' WHEN b_rules THEN 'judge vs rules' ELSE 'judge vs judge' END
           AS kind,
       verifier_a, verifier_b, both_judged, agree, agree / both_judged AS agreement,
       a_consistent_rate, b_consistent_rate, (agree / both_judged - p_e) / nullif(1 - p_e, 0) AS kappa
FROM chance
ORDER BY kind, verifier_a, verifier_b
"""

# The columns the report presets read, per table. compute_report copies just these into memory once so a
# store of thousands of part files is opened once, not once per preset; add a column here when a report
# preset starts reading it (the tests run every preset both ways). Failure text is kept for non-ok verdicts.
REPORT_COLUMNS: dict[str, str] = {
    "prompts": "prompt_id, problem_id, problem_type",
    "rollouts": "prompt_id, status, iteration, accurate, fmt_ok, truncated, repetitive, reflective, think_tokens",
    "verdicts": "verdict_id, rollout_id, prompt_id, verifier, engine, status, consistent, accurate, iteration, "
                "attempt, created_at, CASE WHEN status <> 'ok' THEN error END AS error, "
                "CASE WHEN status <> 'ok' THEN raw_output END AS raw_output",
    "pairs": "prompt_id, policy, pair_type, margin, chosen_think_tokens, rejected_think_tokens",
}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("overview", "Rows and distinct prompts per table, and rows whose status is not ok.", _OVERVIEW),
    Preset("quality_by_type", "Per problem type and iteration: ok rollouts, accuracy, format, truncation, "
           "repetition and reflection rates, think-token mean/median/p90 (plus an 'all' row).", _QUALITY_BY_TYPE),
    Preset("consistency_by_type", "Per verifier, problem type and iteration: verdicts, consistency rate among "
           "ok verdicts (and among accurate ones), unparsable and error counts.", _CONSISTENCY_BY_TYPE),
    Preset("think_length_hist", "Histogram of think_tokens of ok rollouts per problem type: power-of-two bin "
           "width, up to 16 bins to the 99th percentile, an open last bin (bin_end null).", _THINK_LENGTH_HIST),
    Preset("pass_rate_hist", "Questions (prompt, iteration) by pass rate = mean accuracy of their ok rollouts, "
           "counted in bins 0, (0, 0.25], ..., (0.75, 1), 1; overall ('all') and per problem type.",
           _PASS_RATE_HIST),
    Preset("judge_failures", "Unparsable and failed verdicts per verifier and error kind, with an example.",
           _JUDGE_FAILURES),
    Preset("pairs_by_type", "Pairs per policy and pair type: count, prompts, margin and think lengths.",
           _PAIRS_BY_TYPE),
    Preset("easy_questions", "Questions (prompt, iteration) whose every ok rollout was accurate: the ones the "
           "next GRPO round prunes.", _EASY_QUESTIONS),
    Preset("judge_agreement", "Agreement and Cohen's kappa on 'consistent' between every two verifiers on the "
           "rollouts both judged (judge vs judge, judge vs rules).", _JUDGE_AGREEMENT),
)}


def preset(name: str) -> Preset:
    """The preset called ``name``; a :class:`UsageError` listing the presets when there is none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"unknown preset {name!r}; presets are: {', '.join(PRESETS)} "
                         "(factory query --list-presets describes them)") from None


def run_preset(store, name: str, versions: dict[str, str] | None = None) -> pa.Table:
    """Run the preset ``name`` read-only over ``store`` (latest versions unless ``versions`` names some)."""
    from factory.query import run_query

    return run_query(store, preset(name).sql, versions)
