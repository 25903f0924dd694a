"""Conformance suites that frazil plugins run against themselves."""

from __future__ import annotations

from frazil.testing._commits import check_concurrent_commits
from frazil.testing._faults import FaultBackend, NetworkFaultTests
from frazil.testing._resolver import VirtualChunkResolverTests
from frazil.testing._storage import StorageTests

__all__ = ["FaultBackend", "NetworkFaultTests", "StorageTests", "VirtualChunkResolverTests",
           "check_concurrent_commits"]
