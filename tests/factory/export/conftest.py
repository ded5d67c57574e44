"""Fixtures of the export tests (the store they share is built in :mod:`export_cases`)."""

import pytest

from export_cases import build_export_store


@pytest.fixture
def export_store(store, sample_json):
    """The sample prompts, two rollouts versions and hand-written pairs; a dict of what is in the store."""
    return build_export_store(store, sample_json)
