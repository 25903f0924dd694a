"""frazil-s3 under real network faults: moto behind a toxiproxy-compatible TCP proxy.

The kernel's :class:`frazil.testing.NetworkFaultTests` (latency, resets,
truncated and sliced answers, stalls, refused connections, a flapping network
across commits read back by icechunk) run against S3.
"""

from __future__ import annotations

import pytest
from frazil.testing import FaultBackend, NetworkFaultTests
from frazil_s3 import s3_storage
from frazil_s3.testing import storage_kwargs

pytest.importorskip("toxiproxy")
icechunk = pytest.importorskip("icechunk")


class TestS3NetworkFaults(NetworkFaultTests):
    @pytest.fixture
    def fault_backend(self, s3_endpoint, bucket, s3_kwargs):
        def make(prefix, endpoint, **settings):
            return s3_storage(prefix=prefix, **settings, **storage_kwargs(endpoint, bucket))

        def oracle_open(prefix):
            return icechunk.Repository.open(icechunk.s3_storage(prefix=prefix, **s3_kwargs))

        return FaultBackend(s3_endpoint, make, "s3://", oracle_open)
