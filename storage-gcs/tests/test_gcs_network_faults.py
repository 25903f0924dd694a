"""frazil-gcs under real network faults: fake-gcs-server behind a toxiproxy-compatible proxy.

The kernel's :class:`frazil.testing.NetworkFaultTests` (latency, resets,
truncated and sliced answers, stalls, refused connections, a flapping network
across commits) run against GCS. icechunk cannot list on the emulator, so the
flapping-network commits are read back by frazil straight from the server.
"""

from __future__ import annotations

import pytest
from frazil.testing import FaultBackend, NetworkFaultTests
from frazil_gcs import gcs_storage
from frazil_gcs.testing import storage_kwargs

pytest.importorskip("toxiproxy")


class TestGcsNetworkFaults(NetworkFaultTests):
    @pytest.fixture
    def fault_backend(self, gcs_endpoint, bucket):
        def make(prefix, endpoint, **settings):
            return gcs_storage(prefix=prefix, **settings, **storage_kwargs(endpoint, bucket))

        return FaultBackend(gcs_endpoint, make, "gs://")
