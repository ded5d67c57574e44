"""The verify progress bar: judged per second, errors and parse failures."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from factory.progress import stderr


class VerifyProgress:
    def __init__(self, *, total: int, enabled: bool = True):
        self.started = time.perf_counter()
        self.done = self.errors = self.unparsable = 0
        self.progress = Progress(TextColumn("[bold]verify"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}/s"), TextColumn("errors {task.fields[errors]}"),
                                 TextColumn("unparsable {task.fields[unparsable]}"), TimeElapsedColumn(),
                                 console=stderr, disable=not enabled or total == 0)
        self.task = self.progress.add_task("verify", total=total, rate="0", errors=0, unparsable=0)

    def advance(self, status: str) -> None:
        self.done += 1
        self.errors += status == "error"
        self.unparsable += status == "unparsable"
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=1, rate=f"{rate:,.1f}", errors=self.errors, unparsable=self.unparsable)

    def __enter__(self) -> "VerifyProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
