"""Errors the reward stage raises. Each is also a ``ValueError`` so plain callers can catch that."""

from __future__ import annotations

from schemas.errors import FactoryError, SchemaMismatch, UsageError


class UnknownProfile(UsageError, ValueError):
    """The reward profile named in config or on the command line does not exist."""


class UnknownProblemType(FactoryError, ValueError):
    """A row's ``problem_type`` has no scorer in the chosen profile."""


class MissingColumns(SchemaMismatch, ValueError):
    """The frame to score lacks columns the rewards need."""


class UnsupportedRewardOption(UsageError, ValueError):
    """An option was asked of a profile that does not define it (e.g. the length bonus under veripo)."""
