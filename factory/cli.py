"""The ``factory`` command line: parses, validates and calls stage functions; no logic lives here.

Conventions every command follows: ``--store`` (default ``$FACTORY_STORE``, else ``./store``),
``--config FILE`` (TOML or YAML; flags override it); exit 0 on success, 1 on a failure the run
reported, 2 on bad usage; problems go to stderr one line each.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from factory.config import build_config, store_from
from factory.errors import FactoryError
from factory.store import Store, default_store_path

app = typer.Typer(help="Preference-dataset factory: prompts -> rollouts -> verdicts -> pairs -> exports.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
prompts_app = typer.Typer(help="Import task data into the prompts table.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
rollouts_app = typer.Typer(help="Generate rollouts with an engine, or import them from an RL trainer.",
                           invoke_without_command=True)
app.add_typer(rollouts_app, name="rollouts")

out = Console()
err = Console(stderr=True, highlight=False)

StoreOpt = Annotated[Optional[str], typer.Option("--store", help="Store path or URL [default: $FACTORY_STORE or ./store]")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="TOML or YAML file with settings; flags override it")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars")]


def open_store(store: str | None, config: Path | None, *, create: bool = False) -> Store:
    """The store named by --store / the config file / $FACTORY_STORE / ./store.

    Only the import commands create a store; every other command names a missing one instead of
    quietly reading nothing (a mistyped --store).
    """
    opened = Store(store_from(config, store) or default_store_path())
    if not create and not opened.fs.exists(opened.root):
        from factory.errors import StoreError

        raise StoreError(f"store {opened.url} does not exist; create it with `factory prompts import` "
                         "or name another with --store / $FACTORY_STORE")
    return opened


def reports_errors(func):
    """Turn typed errors into one stderr line per problem and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FactoryError as exc:
            for line in exc.lines():
                err.print(f"error: {line}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted: finished parts are kept; run the same command again to resume")
            raise typer.Exit(130) from None

    return wrapper


def print_table(result, *, max_rows: int = 50, title: str | None = None) -> None:
    """A readable terminal table of an Arrow table (first ``max_rows`` rows)."""
    table = Table(title=title, show_lines=False)
    for name in result.column_names:
        table.add_column(name, overflow="fold")
    for row in result.slice(0, max_rows).to_pylist():
        table.add_row(*[_cell(v) for v in row.values()])
    out.print(table)
    if result.num_rows > max_rows:
        out.print(f"({result.num_rows} rows, first {max_rows} shown; --max-rows to see more)")


def _cell(value) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


# -- prompts -------------------------------------------------------------------------------------------
@prompts_app.command("import")
@reports_errors
def prompts_import(
    source: Annotated[Path, typer.Argument(help="Video-R1 JSON/JSONL, Parquet, or a saved HF dataset folder")],
    media_root: Annotated[Optional[Path], typer.Option(help="Folder media paths are relative to")] = None,
    on_error: Annotated[Optional[str], typer.Option(help="fail: write nothing if a row is bad; skip: write good rows")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="auto, json, jsonl, parquet or hf")] = None,
    split: Annotated[Optional[str], typer.Option(help="Split of a HF DatasetDict")] = None,
    probe_media: Annotated[Optional[bool], typer.Option("--probe-media/--no-probe-media", help="Decode media to check it")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Import only the first N rows")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Import task data into a new prompts version; bad rows are named with file and row."""
    from factory.prompts import ImportConfig, import_prompts

    settings = build_config(ImportConfig, file=config, section="prompts", overrides=dict(
        media_root=str(media_root) if media_root else None, on_error=on_error, format=format, split=split,
        probe_media=probe_media, limit=limit))
    result = import_prompts(open_store(store, config, create=True), source, settings, show_progress=not quiet)
    for problem in result.problems:
        err.print(f"skipped: {problem}", markup=False, soft_wrap=True)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    version = result.version.id if result.version else "none"
    out.print(f"prompts: {result.written} written, {result.already_present} already present, "
              f"{len(result.problems)} skipped; version {version}")


# -- rollouts ------------------------------------------------------------------------------------------
@rollouts_app.callback()
@reports_errors
def rollouts(
    ctx: typer.Context,
    policy: Annotated[Optional[str], typer.Option(help="Policy model folder or Hub id")] = None,
    revision: Annotated[Optional[str], typer.Option(help="Policy revision")] = None,
    engine: Annotated[Optional[str], typer.Option(help="vllm (in-process), openai (endpoint) or ray (cluster)")] = None,
    n: Annotated[Optional[int], typer.Option("--n", "-n", help="G: samples per prompt")] = None,
    temperature: Annotated[Optional[float], typer.Option()] = None,
    top_p: Annotated[Optional[float], typer.Option()] = None,
    top_k: Annotated[Optional[int], typer.Option()] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option()] = None,
    stop: Annotated[Optional[list[str]], typer.Option(help="Stop string (repeatable)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed")] = None,
    template: Annotated[Optional[str], typer.Option(help="video-r1, veripo or a template file")] = None,
    reward_profile: Annotated[Optional[str], typer.Option(help="video-r1 or veripo")] = None,
    fps: Annotated[Optional[float], typer.Option(help="Frame sampling rate")] = None,
    min_frames: Annotated[Optional[int], typer.Option()] = None,
    max_frames: Annotated[Optional[int], typer.Option()] = None,
    max_pixels: Annotated[Optional[int], typer.Option(help="Pixel ceiling per frame")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (openai engine)")] = None,
    served_model: Annotated[Optional[str], typer.Option(help="Model name at the endpoint")] = None,
    concurrency: Annotated[Optional[int], typer.Option(help="In-flight requests (openai engine)")] = None,
    video_mode: Annotated[Optional[str], typer.Option(help="frames or video_url (openai engine)")] = None,
    max_model_len: Annotated[Optional[int], typer.Option()] = None,
    dtype: Annotated[Optional[str], typer.Option()] = None,
    tensor_parallel_size: Annotated[Optional[int], typer.Option()] = None,
    enforce_eager: Annotated[Optional[bool], typer.Option("--enforce-eager/--no-enforce-eager")] = None,
    replicas: Annotated[Optional[int], typer.Option(help="Engine replicas (ray engine)")] = None,
    gpus_per_replica: Annotated[Optional[float], typer.Option(help="GPUs per replica, 0 for CPUs (ray engine)")] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster to join: ray://host:10001 or auto (ray engine)")] = None,
    prompts_version: Annotated[Optional[str], typer.Option(help="prompts version (default latest)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N prompts")] = None,
    iteration: Annotated[Optional[int], typer.Option(help="Loop iteration recorded on rows")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Sample G completions per prompt, score them, and write them to rollouts as they finish."""
    if ctx.invoked_subcommand is not None:
        return
    from factory.rollouts.config import RolloutConfig
    from factory.rollouts.generate import run_rollouts

    settings = build_config(RolloutConfig, file=config, section="rollouts", overrides=dict(
        policy=policy, revision=revision, engine=engine, n=n, temperature=temperature, top_p=top_p, top_k=top_k,
        max_new_tokens=max_new_tokens, stop=stop or None, seed=seed, template=template,
        reward_profile=reward_profile, fps=fps, min_frames=min_frames, max_frames=max_frames,
        max_pixels=max_pixels, base_url=base_url, served_model=served_model, concurrency=concurrency,
        video_mode=video_mode, max_model_len=max_model_len, dtype=dtype,
        tensor_parallel_size=tensor_parallel_size, enforce_eager=enforce_eager, prompts_version=prompts_version,
        limit=limit, iteration=iteration, replicas=replicas, gpus_per_replica=gpus_per_replica, address=address))
    summary = run_rollouts(open_store(store, config), settings, show_progress=not quiet)
    version = summary.version.id if summary.version else "none"
    out.print(f"rollouts: {summary.written} written, {summary.already_present} already present, "
              f"{sum(summary.errors.values())} errors {dict(summary.errors) or ''}; version {version}; "
              f"{summary.seconds:.1f} s, {summary.tokens_per_s:,.0f} generated tok/s")
    for problem_type, reward in summary.mean_reward.items():
        out.print(f"  mean reward_total {problem_type}: {reward:.3f}")
    if summary.errors and not summary.written - sum(summary.errors.values()):
        raise typer.Exit(1)


@rollouts_app.command("import")
@reports_errors
def rollouts_import(
    source: Annotated[Path, typer.Argument(help="JSONL/Parquet rollouts, TRL completion logs, or verl JSONL dumps")],
    format: Annotated[Optional[str], typer.Option("--format", help="auto, generic, trl or verl")] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="Reward profile: video-r1 or veripo")] = None,
    on_error: Annotated[Optional[str], typer.Option(help="fail or skip")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Import rollouts made elsewhere, computing rewards on the way in."""
    from factory.rollouts.importer import RolloutImportConfig, import_rollouts

    settings = build_config(RolloutImportConfig, file=config, section="rollouts_import",
                            overrides=dict(format=format, profile=profile, on_error=on_error))
    result = import_rollouts(open_store(store, config, create=True), source, settings, show_progress=not quiet)
    for problem in result.problems:
        err.print(f"skipped: {problem}", markup=False, soft_wrap=True)
    version = result.version.id if result.version else "none"
    out.print(f"rollouts: {result.written} imported, {result.already_present} already present, "
              f"{len(result.problems)} skipped; version {version}")


@app.command()
@reports_errors
def rewards(
    profile: Annotated[Optional[str], typer.Option(help="Reward profile: video-r1 or veripo")] = None,
    length_bonus: Annotated[Optional[bool], typer.Option("--length-bonus/--no-length-bonus")] = None,
    rollouts_version: Annotated[Optional[str], typer.Option(help="rollouts version (default latest)")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer for think length (default: words)")] = None,
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """Recompute the reward columns of a rollouts version (writes a new version; nothing is regenerated)."""
    from factory.rollouts.rescore import RewardsConfig, rescore

    settings = build_config(RewardsConfig, file=config, section="rewards", overrides=dict(
        profile=profile, length_bonus=length_bonus, rollouts_version=rollouts_version, tokenizer=tokenizer))
    manifest = rescore(open_store(store, config), settings)
    out.print(f"rollouts re-scored with {settings.profile}: {manifest.row_count} rows; version {manifest.id}")


# -- verify --------------------------------------------------------------------------------------------
@app.command()
@reports_errors
def verify(
    judge: Annotated[Optional[str], typer.Option(help="rules (no model), vllm (in-process), openai (endpoint) or ray (cluster)")] = None,
    judge_model: Annotated[Optional[str], typer.Option(help="Judge model folder / id, or its name at the endpoint")] = None,
    verifier: Annotated[Optional[str], typer.Option(help="Name to store verdicts under (default from the judge)")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint of the judge")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Judge prompt: consistency-v1 or a prompt file")] = None,
    structured: Annotated[Optional[bool], typer.Option("--structured/--no-structured", help="Constrain output to the labels")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Judge output budget")] = None,
    max_think_chars: Annotated[Optional[int], typer.Option(help="Cut longer think texts, keeping the end")] = None,
    concurrency: Annotated[Optional[int], typer.Option(help="In-flight requests (openai judge)")] = None,
    max_model_len: Annotated[Optional[int], typer.Option()] = None,
    enforce_eager: Annotated[Optional[bool], typer.Option("--enforce-eager/--no-enforce-eager")] = None,
    replicas: Annotated[Optional[int], typer.Option(help="Judge engine replicas (ray judge)")] = None,
    tensor_parallel_size: Annotated[Optional[int], typer.Option(help="GPUs per judge engine, tensor parallel (ray judge)")] = None,
    gpus_per_replica: Annotated[Optional[float], typer.Option(help="GPUs per replica, 0 for CPUs (ray judge)")] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster to join: ray://host:10001 or auto (ray judge)")] = None,
    rollouts_version: Annotated[Optional[str], typer.Option(help="rollouts version (default latest)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Judge only the first N rollouts")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Judge rollouts (rules always; plus a small LLM judge) and write verdicts; re-runs retry only failures."""
    from factory.verifier.config import VerifyConfig
    from factory.verifier.run import run_verify

    settings = build_config(VerifyConfig, file=config, section="verify", overrides=dict(
        judge=judge, judge_model=judge_model, verifier=verifier, base_url=base_url, prompt=prompt,
        structured=structured, max_tokens=max_tokens, max_think_chars=max_think_chars, concurrency=concurrency,
        max_model_len=max_model_len, enforce_eager=enforce_eager, rollouts_version=rollouts_version, limit=limit,
        replicas=replicas, tensor_parallel_size=tensor_parallel_size, gpus_per_replica=gpus_per_replica,
        address=address))
    summary = run_verify(open_store(store, config), settings, show_progress=not quiet)
    version = summary.version.id if summary.version else "none"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items())) or "nothing new"
    labels = ", ".join(f"{k} {v}" for k, v in sorted(summary.labels.items()))
    out.print(f"verify [{summary.verifier}]: {summary.judged} judged ({statuses}), {summary.retried} retried, "
              f"{summary.already_done} already done; {labels}; version {version}; {summary.per_second:,.1f}/s",
              markup=False)
    from factory.stats.presets import run_preset

    agreement = run_preset(open_store(store, config), "judge_agreement")
    if agreement.num_rows:
        print_table(agreement, title="agreement between verifiers (rollouts both judged ok)")
    if summary.statuses.get("error"):
        err.print(f"error: {summary.statuses['error']} judgement(s) failed; run the same command again to retry them")
        raise typer.Exit(1)


# -- export --------------------------------------------------------------------------------------------
@app.command()
@reports_errors
def export(
    format: Annotated[Optional[str], typer.Option("--format", help="trl-dpo, trl-grpo, verl, hf or jsonl")] = None,
    table: Annotated[Optional[str], typer.Option(help="pairs (default) or prompts; hf/jsonl take any table")] = None,
    version: Annotated[Optional[str], typer.Option("--version", help="Version of the table (default latest)")] = None,
    out_dir: Annotated[Optional[str], typer.Option("--out", "-o", help="Output folder")] = None,
    overwrite: Annotated[Optional[bool], typer.Option("--overwrite/--no-overwrite")] = None,
    include_frames: Annotated[Optional[bool], typer.Option("--frames/--no-frames", help="Sampled frames as images")] = None,
    template: Annotated[Optional[str], typer.Option(help="Prompt template for trl-grpo/verl prompts")] = None,
    system_prompt: Annotated[Optional[str], typer.Option(help="System turn to prepend")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N rows")] = None,
    push: Annotated[Optional[str], typer.Option(help="Hub dataset repo id to upload to (token from HF_TOKEN or login)")] = None,
    private: Annotated[Optional[bool], typer.Option("--private/--public")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Export a pairs or prompts version as a Hugging Face dataset folder in a trainer's format."""
    from factory.export import ExportConfig, export as run_export

    settings = build_config(ExportConfig, file=config, section="export", overrides=dict(
        format=format, table=table, version=version, out=out_dir, overwrite=overwrite, include_frames=include_frames,
        template=template, system_prompt=system_prompt, limit=limit, push=push, private=private))
    result = run_export(open_store(store, config), settings, show_progress=not quiet)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    out.print(f"export {result.format}: {result.rows} rows from {result.table}@{result.version} -> {result.folder}",
              markup=False)
    if result.pushed:
        out.print(f"pushed: {result.pushed}", markup=False)


# -- pairs ---------------------------------------------------------------------------------------------
@app.command()
@reports_errors
def pairs(
    policy: Annotated[Optional[str], typer.Option(help="veripo or best-vs-worst")] = None,
    verifier: Annotated[Optional[str], typer.Option(help="Whose verdicts to use (default: the only one)")] = None,
    max_pairs: Annotated[Optional[int], typer.Option("--max-pairs", help="At most K pairs per question")] = None,
    min_margin: Annotated[Optional[float], typer.Option(help="best-vs-worst: smallest reward gap")] = None,
    think_ceiling: Annotated[Optional[int], typer.Option(help="Chosen think length ceiling (tokens)")] = None,
    rollouts_version: Annotated[Optional[str], typer.Option(help="rollouts version (default latest)")] = None,
    verdicts_version: Annotated[Optional[str], typer.Option(help="verdicts version (default latest)")] = None,
    next_prompts: Annotated[Optional[bool], typer.Option("--next-prompts/--no-next-prompts",
                                                         help="Also write the next GRPO round's prompts")] = None,
    drop_easy: Annotated[Optional[float], typer.Option(help="Share of all-solved questions to drop (VerIPO: 0.8)")] = None,
    store: StoreOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
) -> None:
    """Build chosen/rejected pairs from verified rollouts; list (and optionally prune) the easy questions."""
    from factory.pairs import PairConfig, run_pairs

    settings = build_config(PairConfig, file=config, section="pairs", overrides=dict(
        policy=policy, verifier=verifier, max_pairs_per_question=max_pairs, min_margin=min_margin,
        think_ceiling=think_ceiling, rollouts_version=rollouts_version, verdicts_version=verdicts_version,
        write_next_prompts=next_prompts, drop_easy_share=drop_easy))
    result = run_pairs(open_store(store, config), settings, show_progress=not quiet)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "none"
    out.print(f"pairs [{result.policy}, verifier {result.verifier}]: {result.rows} ({counts}) from "
              f"{result.questions_with_pairs} of {result.questions} questions; {result.easy} easy questions; "
              f"version {result.version}", markup=False)
    if result.prompts_version:
        out.print(f"next-round prompts: {result.dropped} easy questions dropped; prompts version "
                  f"{result.prompts_version}", markup=False)


# -- stats ---------------------------------------------------------------------------------------------
@app.command()
@reports_errors
def stats(
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the report as one self-contained HTML page")] = None,
    version: Annotated[Optional[list[str]], typer.Option("--version", help="TABLE=VERSION (repeatable); default latest")] = None,
    max_rows: Annotated[int, typer.Option(help="Rows to print per section")] = 50,
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """Print the CoT-quality report: accuracy, consistency, think lengths, pass rates, judge failures, pairs."""
    from factory.query import parse_versions
    from factory.stats import compute_report, print_report, write_html

    report = compute_report(open_store(store, config), parse_versions(version))
    print_report(report, out, max_rows=max_rows)
    if html is not None:
        out.print(f"HTML report written to {write_html(report, html)}", markup=False)


# -- query / versions / schema -------------------------------------------------------------------------
@app.command()
@reports_errors
def query(
    sql: Annotated[Optional[str], typer.Argument(help="A read-only SQL query over prompts, rollouts, verdicts, pairs")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Run a named query instead of SQL (see --list-presets)")] = None,
    list_presets: Annotated[bool, typer.Option("--list-presets", help="List the named queries and exit")] = False,
    version: Annotated[Optional[list[str]], typer.Option("--version", help="TABLE=VERSION (repeatable); default latest")] = None,
    format: Annotated[str, typer.Option("--format", help="table, csv, json or parquet")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File for csv/json/parquet output")] = None,
    max_rows: Annotated[int, typer.Option(help="Rows to print in table format")] = 50,
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """Run SQL in DuckDB with one view per table (read-only)."""
    from factory.errors import UsageError
    from factory.query import parse_versions, run_query, write_result
    from factory.stats.presets import PRESETS
    from factory.stats.presets import preset as named_preset

    if list_presets:
        grid = Table("preset", "what it shows")
        for item in PRESETS.values():
            grid.add_row(item.name, item.description)
        out.print(grid)
        return
    if (sql is None) == (preset is None):
        raise UsageError("give a SQL query or --preset NAME, not both or neither (--list-presets lists the presets)")
    if preset is not None:
        sql = named_preset(preset).sql
    result = run_query(open_store(store, config), sql, parse_versions(version))
    if format == "table":
        print_table(result, max_rows=max_rows)
    elif output is None:
        if format != "csv":
            raise UsageError(f"--format {format} needs --output PATH")
        import pyarrow.csv as pacsv

        pacsv.write_csv(result, sys.stdout.buffer)
    else:
        write_result(result, format, str(output))
        out.print(f"{result.num_rows} rows written to {output}")


@app.command()
@reports_errors
def versions(
    table: Annotated[Optional[str], typer.Argument(help="prompts, rollouts, verdicts or pairs (default all)")] = None,
    lineage: Annotated[Optional[str], typer.Option(help="Show what this version of TABLE was built from")] = None,
    check: Annotated[bool, typer.Option(help="Verify part sizes and checksums")] = False,
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """List dataset versions with their lineage."""
    from factory.errors import UsageError
    from schemas import TABLES

    st = open_store(store, config)
    if lineage is not None:
        if table is None:
            raise UsageError("--lineage needs a TABLE argument")
        for depth, manifest in st.lineage(st.resolve(table, lineage)):
            out.print(f"{'  ' * depth}{manifest.table}@{manifest.id}  {manifest.stage}  rows={manifest.row_count}"
                      f"  {manifest.created_at}  code={manifest.code_version}")
        return
    grid = Table("table", "version", "stage", "rows", "parts", "parents", "created", "code")
    problems = []
    for name in [table] if table else list(TABLES):
        for manifest in st.versions(name):
            parents = ", ".join(f"{p.table}@{p.version}" for p in manifest.parents) or "-"
            grid.add_row(name, manifest.id, manifest.stage, str(manifest.row_count), str(len(manifest.parts)),
                         parents, manifest.created_at[:19], manifest.code_version)
            if check:
                problems += [f"{name}@{manifest.id}: {p}" for p in st.check(manifest)]
    out.print(grid)
    if check:
        if problems:
            from factory.errors import StoreError

            raise StoreError("; ".join(problems))
        out.print("all parts present with the sizes and checksums their manifests record")


@app.command()
@reports_errors
def schema(table: Annotated[Optional[str], typer.Argument(help="Table name (default all)")] = None) -> None:
    """Print the table contract: columns, types and what each means."""
    from schemas import TABLES, table_spec

    for spec in [table_spec(table)] if table else TABLES.values():
        grid = Table("column", "type", "required", "meaning", title=f"{spec.name} (schema v{spec.version}, key {spec.key})")
        for field in spec.schema:
            grid.add_row(field.name, str(field.type), "yes" if not field.nullable else "", spec.doc(field.name))
        out.print(grid)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
