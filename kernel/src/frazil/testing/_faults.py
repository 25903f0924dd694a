"""``NetworkFaultTests``: a storage backend under real network faults.

Subclass it in a backend's tests and provide the ``fault_backend`` fixture (a
:class:`FaultBackend`). Every request of the faulty storage crosses a real TCP
proxy (a ``toxiproxy-server`` on PATH, or frazil's own toxiproxy-compatible
server, through the ``toxiproxy_server`` fixture) whose toxics add latency,
reset connections, cut or slice responses, stall or refuse connections. The
backend must retry through transient trouble, fail with a clear frazil error
otherwise, and never leave a half-visible commit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import zarr

import frazil

__all__ = ["FaultBackend", "NetworkFaultTests"]


@dataclass(frozen=True)
class FaultBackend:
    """What the suite needs from a backend.

    Attributes
    ----------
    endpoint
        URL of the real server (``http://127.0.0.1:PORT``).
    make
        ``make(prefix, endpoint, **settings)`` builds a storage talking to
        ``endpoint`` (the proxy's or the real one) with retry/timeout settings
        (``max_tries``, ``initial_backoff_s``, ``max_backoff_s``,
        ``operation_timeout_s``, ``read_timeout_s``).
    location
        Text the error of an unreachable store must contain (e.g. ``"s3://"``).
    oracle_open
        ``oracle_open(prefix)``: the repository at that place opened by another
        reader, normally the real icechunk, which then reads back what was
        committed through the faults (default: frazil, straight to the server).
    """

    endpoint: str
    make: Callable[..., Any]
    location: str
    oracle_open: Callable[[str], Any] | None = None


def _later(seconds: float, fn: Callable[[], Any]) -> threading.Timer:
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def _commit_array(storage: Any, values: np.ndarray) -> tuple[Any, str]:
    repo = frazil.Repository.create(storage)
    s = repo.writable_session("main")
    arr = zarr.create_array(s.store, name="a", shape=(len(values),), chunks=(4,), dtype="f8")
    arr[:] = values
    return repo, s.commit("through the proxy")


class NetworkFaultTests:
    """Network-fault conformance tests; subclasses provide ``fault_backend``."""

    fault_retry = {"max_tries": 20, "initial_backoff_s": 0.02, "max_backoff_s": 0.1}

    @pytest.fixture
    def fault_proxy(self, toxiproxy_server: Any, fault_backend: FaultBackend) -> Iterator[Any]:
        client = toxiproxy_server.configure_client()
        up = urlsplit(fault_backend.endpoint)
        proxy = client.create(upstream=f"{up.hostname}:{up.port}", listen="127.0.0.1:0",
                              name=f"faults-{uuid.uuid4().hex[:8]}")
        try:
            yield proxy
        finally:
            proxy.destroy()

    @staticmethod
    def _faulty(backend: FaultBackend, proxy: Any, prefix: str, **settings: Any) -> Any:
        # the real endpoint with the proxy's address in place of the server's
        return backend.make(prefix, urlsplit(backend.endpoint)._replace(
            netloc=proxy.listen).geturl(), **settings)

    def test_latency_is_only_slower(self, fault_backend: FaultBackend, fault_proxy: Any) -> None:
        fault_proxy.add_toxic(type="latency", attributes={"latency": 30, "jitter": 10})
        values = np.arange(16.0)
        _commit_array(self._faulty(fault_backend, fault_proxy, "lat"), values)
        direct = frazil.Repository.open(fault_backend.make("lat", fault_backend.endpoint))
        got = zarr.open_array(direct.readonly_session(branch="main").store, path="a", mode="r")
        assert got[:].tolist() == values.tolist()

    def test_connection_resets_are_retried_until_the_network_heals(
            self, fault_backend: FaultBackend, fault_proxy: Any) -> None:
        storage = self._faulty(fault_backend, fault_proxy, "reset", **self.fault_retry)
        asyncio.run(storage.put_object("k", b"payload"))
        fault_proxy.add_toxic(type="reset_peer", name="rst", attributes={"timeout": 0})
        healer = _later(0.4, lambda: fault_proxy.destroy_toxic("rst"))
        t0 = time.monotonic()
        try:
            assert asyncio.run(storage.get_object("k")) == b"payload"
            asyncio.run(storage.put_object("k2", b"more"))
        finally:
            healer.join()
        assert time.monotonic() - t0 >= 0.35  # it really did wait out the resets
        assert asyncio.run(storage.get_object("k2")) == b"more"

    @pytest.mark.parametrize("byte_range", [None, (1000, 120_000)])
    def test_truncated_responses_are_retried(self, fault_backend: FaultBackend,
                                             fault_proxy: Any, byte_range: Any) -> None:
        storage = self._faulty(fault_backend, fault_proxy, "cut", **self.fault_retry)
        body = bytes(range(256)) * 512  # 128 KiB
        asyncio.run(storage.put_object("big", body))
        # every connection is cut after 4 KiB of the answer: headers pass, the body does not
        fault_proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                              attributes={"bytes": 4096})
        healer = _later(0.4, lambda: fault_proxy.destroy_toxic("cut"))
        try:
            got = asyncio.run(storage.get_object("big", byte_range))
        finally:
            healer.join()
        want = body if byte_range is None else body[byte_range[0]:byte_range[1]]
        assert got == want  # never a short read

    def test_sliced_responses_are_whole(self, fault_backend: FaultBackend,
                                        fault_proxy: Any) -> None:
        storage = self._faulty(fault_backend, fault_proxy, "slice")
        body = bytes(range(256)) * 64
        asyncio.run(storage.put_object("obj", body))
        fault_proxy.add_toxic(type="slicer", name="s", stream="downstream",
                              attributes={"average_size": 50, "size_variation": 40,
                                          "delay": 100})
        assert asyncio.run(storage.get_object("obj")) == body

    def test_stalled_network_times_out_with_a_frazil_error(self, fault_backend: FaultBackend,
                                                           fault_proxy: Any) -> None:
        storage = self._faulty(fault_backend, fault_proxy, "stall", operation_timeout_s=0.8,
                               read_timeout_s=0.3, initial_backoff_s=0.05)
        asyncio.run(storage.put_object("k", b"v"))
        fault_proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
        t0 = time.monotonic()
        with pytest.raises(frazil.StorageError, match="timed out|Timeout"):
            asyncio.run(storage.get_object("k"))
        assert time.monotonic() - t0 < 3
        fault_proxy.destroy_toxic("hold")
        assert asyncio.run(storage.get_object("k")) == b"v"

    def test_repository_storage_settings_govern_retries_and_timeouts(
            self, fault_backend: FaultBackend, fault_proxy: Any) -> None:
        """``StorageSettings`` (a repository config's) reach the backend through
        ``with_settings``: its tries and timeouts decide, not the storage's own."""
        def make(**own: Any) -> Any:
            return self._faulty(fault_backend, fault_proxy, "settings", **own)

        def settings(tries: int, **timeouts: int) -> frazil.StorageSettings:
            return frazil.StorageSettings(
                retries=frazil.StorageRetriesSettings(max_tries=tries, initial_backoff_ms=20,
                                                      max_backoff_ms=50),
                timeouts=frazil.StorageTimeoutSettings(**timeouts) if timeouts else None)

        def resets_for(seconds: float) -> threading.Timer:
            fault_proxy.add_toxic(type="reset_peer", name="rst", attributes={"timeout": 0})
            return _later(seconds, lambda: fault_proxy.destroy_toxic("rst"))

        asyncio.run(make().put_object("k", b"v"))
        healer = resets_for(0.5)  # the storage alone would retry past the resets...
        try:
            with pytest.raises(frazil.StorageError):  # ...but the settings allow one try
                asyncio.run(make(**self.fault_retry).with_settings(settings(1)).get_object("k"))
        finally:
            healer.join()
        healer = resets_for(0.4)  # the storage alone would give up at the first reset...
        try:  # ...but the settings' tries outlast the resets
            patient = make(max_tries=1).with_settings(settings(40))
            assert asyncio.run(patient.get_object("k")) == b"v"
        finally:
            healer.join()
        fault_proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
        try:  # a stalled answer: the settings' read timeout ends it, not the storage's 10 s
            quick = make(max_tries=1, read_timeout_s=10).with_settings(
                settings(1, read_timeout_ms=300, operation_timeout_ms=800))
            t0 = time.monotonic()
            with pytest.raises(frazil.StorageError):
                asyncio.run(quick.get_object("k"))
            assert time.monotonic() - t0 < 3
        finally:
            fault_proxy.destroy_toxic("hold")
        assert asyncio.run(make().get_object("k")) == b"v"

    def test_unreachable_store_gives_a_clear_error_and_no_commit(
            self, fault_backend: FaultBackend, fault_proxy: Any) -> None:
        _repo, first = _commit_array(self._faulty(fault_backend, fault_proxy, "down"),
                                     np.zeros(8))
        flaky = frazil.Repository.open(self._faulty(fault_backend, fault_proxy, "down",
                                                    max_tries=3, initial_backoff_s=0.01))
        s = flaky.writable_session("main")
        zarr.open_array(s.store, path="a")[:] = 1.0
        fault_proxy.disable()  # connections refused from here on
        try:
            with pytest.raises(frazil.StorageError) as info:
                s.commit("never lands")
            assert fault_backend.location in str(info.value)  # names the place
        finally:
            fault_proxy.enable()
        again = frazil.Repository.open(fault_backend.make("down", fault_backend.endpoint))
        assert again.lookup_branch("main") == first
        got = zarr.open_array(again.readonly_session(branch="main").store, path="a", mode="r")
        assert got[:].tolist() == [0.0] * 8

    def test_commits_through_a_flapping_network_are_whole(
            self, fault_backend: FaultBackend, fault_proxy: Any,
            caplog: pytest.LogCaptureFixture) -> None:
        def storage() -> Any:
            return self._faulty(fault_backend, fault_proxy, "flap", max_tries=12,
                                initial_backoff_s=0.01, max_backoff_s=0.05)

        _commit_array(storage(), np.zeros(64))
        # a third of the connections are reset, a third more are slow
        fault_proxy.add_toxic(type="reset_peer", name="rst", toxicity=0.3,
                              attributes={"timeout": 5})
        fault_proxy.add_toxic(type="latency", name="slow", toxicity=0.3,
                              attributes={"latency": 20})
        commits = 0
        with caplog.at_level(logging.DEBUG, logger="frazil.storage"):
            # at least 5 commits, more (at most 14) until the faults have really bitten
            while commits < 5 or (commits < 14 and not any(
                    "retrying" in r.getMessage() for r in caplog.records)):
                commits += 1
                # a fresh client each time: new connections, each drawing its toxics
                s = frazil.Repository.open(storage()).writable_session("main")
                zarr.open_array(s.store, path="a")[(commits - 1) * 4:commits * 4] = float(commits)
                s.commit(f"flap {commits}")
        assert any("retrying" in r.getMessage() for r in caplog.records)  # faults happened
        fault_proxy.destroy_toxic("rst")
        fault_proxy.destroy_toxic("slow")
        want = [float(i) for i in range(1, commits + 1) for _ in range(4)]
        want += [0.0] * (64 - len(want))
        if fault_backend.oracle_open is not None:
            reader = fault_backend.oracle_open("flap")
        else:
            reader = frazil.Repository.open(fault_backend.make("flap", fault_backend.endpoint))
        got = zarr.open_array(reader.readonly_session(branch="main").store, path="a", mode="r")
        assert got[:].tolist() == want
        assert [a.message for a in reader.ancestry(branch="main")][:commits] == [
            f"flap {i}" for i in range(commits, 0, -1)]
