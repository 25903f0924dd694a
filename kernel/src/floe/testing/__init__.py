"""Conformance suites that floe plugins run against themselves."""

from __future__ import annotations

from floe.testing._commits import check_concurrent_commits
from floe.testing._resolver import VirtualChunkResolverTests
from floe.testing._storage import StorageTests

__all__ = ["StorageTests", "VirtualChunkResolverTests", "check_concurrent_commits"]
