"""The rollouts progress bar: prompts, rollouts, generated tokens per second and errors."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from factory.progress import stderr


class RolloutProgress:
    def __init__(self, *, total_prompts: int, total_rollouts: int, enabled: bool = True):
        self.enabled = enabled
        self.tokens = 0
        self.errors = 0
        self.started = time.perf_counter()
        self.total_prompts = total_prompts
        self.prompts = 0
        self.progress = Progress(TextColumn("[bold]rollouts"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("prompts {task.fields[prompts]}"), TextColumn("{task.fields[rate]} tok/s"),
                                 TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(), console=stderr,
                                 disable=not enabled)
        self.task = self.progress.add_task("rollouts", total=total_rollouts, rate="0", errors=0,
                                           prompts=f"0/{total_prompts}")

    def advance(self, *, rows: int, tokens: int, errors: int, prompts: int = 1) -> None:
        """Count one finished request (``prompts`` of them) with its rows, generated tokens and errors."""
        self.tokens += tokens
        self.errors += errors
        self.prompts += prompts
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=rows, rate=f"{self.tokens / elapsed:,.0f}", errors=self.errors,
                             prompts=f"{self.prompts}/{self.total_prompts}")

    def __enter__(self) -> "RolloutProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
