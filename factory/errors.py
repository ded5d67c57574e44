"""Typed errors of the factory (the shared ones live in :mod:`schemas.errors`)."""

from schemas.errors import FactoryError, InvalidRows, RowProblem, SchemaMismatch, UsageError


class StoreError(FactoryError):
    """The store is missing something asked for, or holds something it should not."""


class VersionNotFound(StoreError):
    """A named dataset version does not exist."""


class ReadOnlyQuery(UsageError):
    """A query tried to write, attach or change settings."""


class MediaError(FactoryError):
    """A media file is missing or cannot be decoded."""


__all__ = ["FactoryError", "InvalidRows", "RowProblem", "SchemaMismatch", "UsageError", "StoreError",
           "VersionNotFound", "ReadOnlyQuery", "MediaError"]
