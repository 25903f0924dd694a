"""frazil-azure under real network faults: Azurite behind a toxiproxy-compatible TCP proxy.

The kernel's :class:`frazil.testing.NetworkFaultTests` (latency, resets,
truncated and sliced answers, stalls, refused connections, a flapping network
across commits read back by icechunk) run against Azure, plus the recovery of
a conditional create whose answer was lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from frazil.storage import ConditionFailedError
from frazil.testing import FaultBackend, NetworkFaultTests
from frazil_azure import azure_storage
from frazil_azure.testing import storage_kwargs

pytest.importorskip("toxiproxy")
icechunk = pytest.importorskip("icechunk")


def _later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


class TestAzureNetworkFaults(NetworkFaultTests):
    @pytest.fixture
    def fault_backend(self, azurite_endpoint, container, az_kwargs):
        def make(prefix, endpoint, **settings):
            return azure_storage(prefix=prefix, **settings,
                                 **storage_kwargs(endpoint, container))

        def oracle_open(prefix):
            return icechunk.Repository.open(icechunk.azure_storage(prefix=prefix, **az_kwargs))

        return FaultBackend(azurite_endpoint, make, "az://", oracle_open)

    def test_lost_response_of_a_conditional_create_is_not_a_conflict(self, fault_backend,
                                                                     fault_proxy, caplog):
        """The create lands but its answer is cut: the retry sees 409 and reads back its bytes."""
        storage = self._faulty(fault_backend, fault_proxy, "lost", max_tries=20,
                               initial_backoff_s=0.05, max_backoff_s=0.1)
        asyncio.run(storage.put_object("warm", b"w"))
        # answers are cut after a few bytes: requests reach Azurite, responses never arrive whole
        fault_proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                              attributes={"bytes": 10})
        healer = _later(0.5, lambda: fault_proxy.destroy_toxic("cut"))
        try:
            with caplog.at_level(logging.DEBUG, logger="frazil.storage"):
                token = asyncio.run(storage.put_object_if("new", b"mine", expected=None))
        finally:
            healer.join()
        assert any("put attempt 1 failed" in r.getMessage() for r in caplog.records)
        data, current = asyncio.run(storage.get_object_versioned("new"))
        assert (data, current) == (b"mine", token)
        with pytest.raises(ConditionFailedError):  # a real competitor is still a conflict
            asyncio.run(storage.put_object_if("new", b"theirs", expected=None))
