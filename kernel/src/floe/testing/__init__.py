"""Conformance suites that floe plugins run against themselves."""

from __future__ import annotations

from floe.testing._resolver import VirtualChunkResolverTests
from floe.testing._storage import StorageTests

__all__ = ["StorageTests", "VirtualChunkResolverTests"]
