"""Typed errors shared by the factory and the trainers.

Messages name the file, the row (number or id), the field at fault and what to do about it, so that a
user with a million-row import can fix the source without a debugger.
"""

from __future__ import annotations

from dataclasses import dataclass


class FactoryError(Exception):
    """A failure the run reports to the user: exit code 1, one clear line per problem on stderr."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]


class UsageError(FactoryError):
    """Bad command-line usage or configuration: exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class RowProblem:
    """One bad row: where it is, which field, what is wrong and how to fix it."""

    source: str
    row: int | None
    field: str
    problem: str
    fix: str
    row_id: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f" row {self.row}"
        if self.row_id is not None:
            where += f" (id {self.row_id})"
        return f"{where}: field '{self.field}': {self.problem}; {self.fix}"


class InvalidRows(FactoryError):
    """Rows failed validation; nothing from the batch was written unless the caller chose to skip them."""

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        super().__init__(f"{len(problems)} invalid row(s); first: {problems[0]}" if problems else "invalid rows")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class SchemaMismatch(FactoryError):
    """A table or file does not match the contract in ``schemas``."""
