"""The ``trainers`` command line: parses, validates and calls the stage functions; no logic lives here.

Same conventions as ``factory``: ``--store`` (default ``$FACTORY_STORE``, else ``./store``), ``--config FILE``
(TOML or YAML; ``[sft]``, ``[dpo]``, ``[grpo]``, ``[loop]`` sections; flags override it), exit 0 on success,
1 on a failure the run reported, 2 on bad usage; problems go to stderr one line each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from factory.cli import ConfigOpt, StoreOpt, err, open_store, out, reports_errors
from factory.config import build_config
from factory.errors import FactoryError, UsageError

app = typer.Typer(help="Train policies with TRL on factory datasets: sft, dpo, grpo, and the VerIPO loop.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Policy to start from (folder or Hub id)")]
OutOpt = Annotated[Optional[str], typer.Option("--output-dir", "-o", help="Checkpoint folder to write")]
DatasetOpt = Annotated[Optional[str], typer.Option("--dataset", help="Exported dataset folder or Hub dataset id "
                                                   "(instead of the store)")]
VersionOpt = Annotated[Optional[str], typer.Option("--version", help="Version of the input table (default latest)")]
LimitOpt = Annotated[Optional[int], typer.Option(help="Only the first N rows")]
LrOpt = Annotated[Optional[float], typer.Option("--learning-rate", "--lr", help="Learning rate")]
StepsOpt = Annotated[Optional[int], typer.Option(help="Stop after N optimizer steps")]
EpochsOpt = Annotated[Optional[float], typer.Option("--epochs", help="Epochs over the data")]
PerDeviceOpt = Annotated[Optional[int], typer.Option(help="Rows per device per forward pass")]
GlobalOpt = Annotated[Optional[int], typer.Option(help="Rows per optimizer step (via gradient accumulation)")]
MaxLenOpt = Annotated[Optional[int], typer.Option(help="Longest prompt + completion in tokens")]
LoraOpt = Annotated[Optional[bool], typer.Option("--lora/--no-lora", help="Train LoRA adapters (peft)")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Seed")]
FramesOpt = Annotated[Optional[int], typer.Option(help="Frame count ceiling per video")]
PixelsOpt = Annotated[Optional[int], typer.Option(help="Pixel ceiling per frame")]
TemplateOpt = Annotated[Optional[str], typer.Option(help="Prompt template: video-r1, veripo or a file")]
TrlOpt = Annotated[Optional[list[str]], typer.Option("--trl-arg", help="KEY=VALUE for any TRL config field "
                                                     "(VALUE as JSON, else text); repeatable")]


def _trl_args(pairs: list[str] | None) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--trl-arg {item!r}: expected KEY=VALUE")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


def _common(model, output_dir, dataset, version, limit, learning_rate, max_steps, epochs, per_device_batch_size,
            global_batch_size, max_length, lora, seed, max_frames, max_pixels, template) -> dict[str, Any]:
    return dict(model=model, output_dir=output_dir, dataset=dataset, version=version, limit=limit,
                learning_rate=learning_rate, max_steps=max_steps, num_train_epochs=epochs,
                per_device_batch_size=per_device_batch_size, global_batch_size=global_batch_size,
                max_length=max_length, lora=lora, seed=seed, max_frames=max_frames, max_pixels=max_pixels,
                template=template)


def _settings(cls, config: Path | None, section: str, overrides: dict[str, Any], trl_arg: list[str] | None):
    settings = build_config(cls, file=config, section=section, overrides=overrides)
    settings.trl_args = {**settings.trl_args, **_trl_args(trl_arg)}
    return settings


def _report(stage: str, result) -> None:
    out.print(f"{stage}: {result.steps} steps, train loss {result.train_loss:.4g}, {result.seconds:.1f} s "
              f"({result.train_seconds:.1f} s training) -> {result.checkpoint}", markup=False)
    if result.rollouts_version:
        out.print(f"rollouts: {result.rollouts} completions written; version {result.rollouts_version}", markup=False)
    if not result.finite:
        raise FactoryError(f"{stage}: the training loss is not finite ({result.train_loss}); the checkpoint in "
                           f"{result.checkpoint} is not usable")


@app.command()
@reports_errors
def sft(
    cot_json: Annotated[Optional[str], typer.Option(help="Video-R1-format CoT JSON/JSONL to train on")] = None,
    media_root: Annotated[Optional[str], typer.Option(help="Folder the CoT file's media paths are relative to")] = None,
    verdicts_version: Annotated[Optional[str], typer.Option(help="verdicts version (default latest)")] = None,
    verifier: Annotated[Optional[str], typer.Option(help="Whose verdicts say which rollouts passed")] = None,
    max_per_question: Annotated[Optional[int], typer.Option(help="Passed rollouts per question at most")] = None,
    model: ModelOpt = None, output_dir: OutOpt = None, dataset: DatasetOpt = None, version: VersionOpt = None,
    limit: LimitOpt = None, learning_rate: LrOpt = None, max_steps: StepsOpt = None, epochs: EpochsOpt = None,
    per_device_batch_size: PerDeviceOpt = None, global_batch_size: GlobalOpt = None, max_length: MaxLenOpt = None,
    lora: LoraOpt = None, seed: SeedOpt = None, max_frames: FramesOpt = None, max_pixels: PixelsOpt = None,
    template: TemplateOpt = None, trl_arg: TrlOpt = None, store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """Supervised fine-tuning on the rollouts the verifier passed (or on a Video-R1 CoT file)."""
    from trainers.sft import SftConfig, run_sft

    settings = _settings(SftConfig, config, "sft", dict(
        cot_json=cot_json, media_root=media_root, verdicts_version=verdicts_version, verifier=verifier,
        max_per_question=max_per_question, **_common(model, output_dir, dataset, version, limit, learning_rate,
                                                     max_steps, epochs, per_device_batch_size, global_batch_size,
                                                     max_length, lora, seed, max_frames, max_pixels, template)),
        trl_arg)
    _report("sft", run_sft(open_store(store, config), settings))


@app.command()
@reports_errors
def dpo(
    beta: Annotated[Optional[float], typer.Option(help="DPO beta (VerIPO 0.1)")] = None,
    rpo_alpha: Annotated[Optional[float], typer.Option(help="Weight of the NLL term on chosen responses (RPO)")] = None,
    pair_type: Annotated[Optional[list[str]], typer.Option("--pair-type", help="Only pairs of this type; repeatable")] = None,
    model: ModelOpt = None, output_dir: OutOpt = None, dataset: DatasetOpt = None, version: VersionOpt = None,
    limit: LimitOpt = None, learning_rate: LrOpt = None, max_steps: StepsOpt = None, epochs: EpochsOpt = None,
    per_device_batch_size: PerDeviceOpt = None, global_batch_size: GlobalOpt = None, max_length: MaxLenOpt = None,
    lora: LoraOpt = None, seed: SeedOpt = None, max_frames: FramesOpt = None, max_pixels: PixelsOpt = None,
    template: TemplateOpt = None, trl_arg: TrlOpt = None, store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """DPO on a pairs version (store), an exported trl-dpo folder, or a Hub dataset; the reference is the start policy."""
    from trainers.dpo import DpoConfig, run_dpo

    settings = _settings(DpoConfig, config, "dpo", dict(
        beta=beta, rpo_alpha=rpo_alpha, pair_types=pair_type or None,
        **_common(model, output_dir, dataset, version, limit, learning_rate, max_steps, epochs,
                  per_device_batch_size, global_batch_size, max_length, lora, seed, max_frames, max_pixels,
                  template)), trl_arg)
    _report("dpo", run_dpo(open_store(store, config), settings))


@app.command()
@reports_errors
def grpo(
    num_generations: Annotated[Optional[int], typer.Option("--num-generations", "-G", help="G: completions per question")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature")] = None,
    max_completion_length: Annotated[Optional[int], typer.Option(help="Generation budget in tokens")] = None,
    reward_profile: Annotated[Optional[str], typer.Option(help="veripo or video-r1")] = None,
    iteration: Annotated[Optional[int], typer.Option(help="Loop iteration recorded on the rollouts")] = None,
    record_rollouts: Annotated[Optional[bool], typer.Option("--record-rollouts/--no-record-rollouts",
                                                            help="Write every completion to the rollouts table")] = None,
    use_vllm: Annotated[Optional[bool], typer.Option("--use-vllm/--no-vllm", help="Generate with vLLM inside TRL")] = None,
    model: ModelOpt = None, output_dir: OutOpt = None, dataset: DatasetOpt = None, version: VersionOpt = None,
    limit: LimitOpt = None, learning_rate: LrOpt = None, max_steps: StepsOpt = None, epochs: EpochsOpt = None,
    per_device_batch_size: PerDeviceOpt = None, global_batch_size: GlobalOpt = None, max_length: MaxLenOpt = None,
    lora: LoraOpt = None, seed: SeedOpt = None, max_frames: FramesOpt = None, max_pixels: PixelsOpt = None,
    template: TemplateOpt = None, trl_arg: TrlOpt = None, store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """GRPO on a prompts version with the factory's reward profiles; every completion goes to the rollouts table."""
    from trainers.grpo import GrpoConfig, run_grpo

    settings = _settings(GrpoConfig, config, "grpo", dict(
        num_generations=num_generations, temperature=temperature, max_completion_length=max_completion_length,
        reward_profile=reward_profile, iteration=iteration, record_rollouts=record_rollouts, use_vllm=use_vllm,
        **_common(model, output_dir, dataset, version, limit, learning_rate, max_steps, epochs,
                  per_device_batch_size, global_batch_size, max_length, lora, seed, max_frames, max_pixels,
                  template)), trl_arg)
    _report("grpo", run_grpo(open_store(store, config), settings))


@app.command()
@reports_errors
def loop(
    run_dir: Annotated[Optional[str], typer.Option(help="Run folder (checkpoints, loop_state.json, summary.json)")] = None,
    policy: Annotated[Optional[str], typer.Option(help="Starting policy (folder or Hub id)")] = None,
    iterations: Annotated[Optional[int], typer.Option(help="Rounds of GRPO -> verify -> pairs -> DPO")] = None,
    store: StoreOpt = None, config: ConfigOpt = None,
) -> None:
    """The VerIPO loop from one config file; a re-run resumes at the first stage whose output is missing."""
    from trainers.loop import LoopSettings, run_loop
    from trainers.loop_report import print_rows

    settings = LoopSettings.from_file(config, dict(run_dir=run_dir, policy=policy, iterations=iterations))
    result = run_loop(open_store(store, config), settings, log=lambda line: err.print(line, markup=False))
    print_rows(result.rows, out)
    out.print(f"ran {len(result.ran)} stage(s); state in {result.run_dir / 'loop_state.json'}", markup=False)


@app.command()
@reports_errors
def check(
    folders: Annotated[list[Path], typer.Argument(help="Checkpoint folders")],
    vllm: Annotated[bool, typer.Option("--vllm/--no-vllm", help="Also load each in vLLM (a subprocess)")] = True,
) -> None:
    """Load checkpoints in transformers (and vLLM) and generate a few tokens from each."""
    from trainers.reload import check_transformers, check_vllm

    failed = []
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder")
        result = check_transformers(folder)
        ok = result["finite"] and result["new_tokens"] > 0
        out.print(f"transformers {'ok' if ok else 'FAILED'}: {folder} ({result['class']})", markup=False)
        if not ok:
            failed.append(str(folder))
    if vllm:
        for folder, result in check_vllm(list(folders)).items():
            if "error" in result:
                failed.append(folder)
                err.print(f"error: vLLM: {folder}: {result['error'].strip().splitlines()[-1:]}", markup=False)
            else:
                out.print(f"vllm ok: {folder} (generated {result['tokens']} tokens)", markup=False)
    if failed:
        raise FactoryError(f"{len(failed)} checkpoint(s) failed to load: {', '.join(failed)}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
