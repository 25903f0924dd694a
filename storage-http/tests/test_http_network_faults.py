"""frazil-http under real network faults: nginx behind a toxiproxy-compatible TCP proxy.

Every request crosses a real TCP proxy (``frazil.testing.toxiproxy``, or a real
``toxiproxy-server`` when one is on PATH) whose toxics add latency, reset
connections, cut answers short, slice them or stall them. Reads must return
the right bytes, or a clear :class:`~frazil.StorageError` — never short or
wrong bytes.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from urllib.parse import urlsplit

import frazil
import numpy as np
import pytest
import zarr
from frazil_http import HttpChunkResolver, HttpSettings, http_storage

pytest.importorskip("toxiproxy")

RETRYING = {"max_tries": 20, "initial_backoff_s": 0.02, "max_backoff_s": 0.1}


@pytest.fixture
def proxy(toxiproxy_server, nginx_url):
    client = toxiproxy_server.configure_client()
    up = urlsplit(nginx_url)
    p = client.create(upstream=f"{up.hostname}:{up.port}", name=f"http-{uuid.uuid4().hex[:8]}",
                      listen="127.0.0.1:0")
    try:
        yield p
    finally:
        p.destroy()


@pytest.fixture
def big(served, proxy):
    """``(storage root URL through the proxy, direct URL, 256 KiB of data at "big")``."""
    folder, url = served
    data = os.urandom(256 * 1024)
    (folder / "big").write_bytes(data)
    return url.replace(urlsplit(url).netloc, proxy.listen), url, data


def _later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def test_latency_and_slicing_are_only_slower(proxy, big):
    url, _, data = big
    proxy.add_toxic(type="latency", attributes={"latency": 30, "jitter": 10})
    proxy.add_toxic(type="slicer", stream="downstream",
                    attributes={"average_size": 700, "size_variation": 300, "delay": 50})
    storage = http_storage(url)
    assert asyncio.run(storage.get_object("big")) == data
    assert asyncio.run(storage.get_object("big", (1000, 90000))) == data[1000:90000]


def test_connection_resets_are_retried_until_the_network_heals(proxy, big):
    url, _, data = big
    storage = http_storage(url, **RETRYING)
    proxy.add_toxic(type="reset_peer", name="rst", attributes={"timeout": 0})
    healer = _later(0.4, lambda: proxy.destroy_toxic("rst"))
    t0 = time.monotonic()
    try:
        assert asyncio.run(storage.get_object("big", (5, 70000))) == data[5:70000]
    finally:
        healer.join()
    assert time.monotonic() - t0 >= 0.35  # it really did wait out the resets


def test_truncated_answers_are_never_returned(proxy, big):
    url, _, data = big
    # every connection is cut after 8 KiB of the answer: headers pass, the body does not
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                    attributes={"bytes": 8192})
    with pytest.raises(frazil.StorageError, match="3 attempt"):
        asyncio.run(http_storage(url, max_tries=3, initial_backoff_s=0.01).get_object("big"))
    healer = _later(0.4, lambda: proxy.destroy_toxic("cut"))
    try:
        assert asyncio.run(http_storage(url, **RETRYING).get_object("big")) == data
    finally:
        healer.join()


def test_stalled_network_times_out_with_a_frazil_error(proxy, big):
    url, _, data = big
    storage = http_storage(url, read_timeout_s=0.3, operation_timeout_s=0.8,
                           initial_backoff_s=0.05)
    proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
    t0 = time.monotonic()
    with pytest.raises(frazil.StorageError, match="Timeout|timed out|operation timeout"):
        asyncio.run(storage.get_object("big"))
    assert time.monotonic() - t0 < 3
    proxy.destroy_toxic("hold")
    assert asyncio.run(storage.get_object("big", (0, 10))) == data[:10]


def test_unreachable_server_is_a_clear_error(proxy, big):
    url, _, _ = big
    proxy.disable()
    try:
        with pytest.raises(frazil.StorageError) as info:
            frazil.Repository.open(http_storage(url, max_tries=2, initial_backoff_s=0.01))
        assert urlsplit(url).netloc in str(info.value)  # names the place
        assert "Traceback" not in str(info.value)
    finally:
        proxy.enable()


def test_virtual_chunk_reads_under_faults_are_right_or_errors(proxy, big):
    url, _, data = big
    resolver = HttpChunkResolver(url + "/", None, settings=HttpSettings(
        max_tries=2, initial_backoff_s=0.01, max_backoff_s=0.02))
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream", toxicity=0.4,
                    attributes={"bytes": 3000})
    proxy.add_toxic(type="reset_peer", name="rst", toxicity=0.2, attributes={"timeout": 0})

    async def one(i):
        lo = (i * 7919) % (len(data) - 20000)
        try:
            return lo, await resolver.fetch(url + "/big", lo, lo + 20000)
        except frazil.StorageError as exc:
            return lo, exc

    async def many():
        return await asyncio.gather(*(one(i) for i in range(24)))

    outcomes = asyncio.run(many())
    good = 0
    for lo, got in outcomes:
        if isinstance(got, bytes):
            assert got == data[lo:lo + 20000]
            good += 1
    assert good > 0  # the faults did not stop everything


def test_icechunk_repository_read_through_flapping_network(proxy, served):
    """Every read of an icechunk-written repository is right or a clear frazil error."""
    icechunk = pytest.importorskip("icechunk")
    folder, url = served
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(folder / "r")))
    expected = []
    for i in range(3):
        s = repo.writable_session("main")
        arr = (zarr.create_array(s.store, name="x", shape=(64,), chunks=(8,), dtype="f8")
               if i == 0 else zarr.open_array(s.store, path="x"))
        values = np.random.default_rng(i).random(64)
        arr[:] = values
        expected.append((s.commit(f"c{i}"), values))
    proxied = url.replace(urlsplit(url).netloc, proxy.listen) + "/r"
    proxy.add_toxic(type="reset_peer", name="rst", toxicity=0.25, attributes={"timeout": 0})
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream", toxicity=0.25,
                    attributes={"bytes": 600})
    proxy.add_toxic(type="latency", name="lat", attributes={"latency": 5, "jitter": 5})
    ok = errors = 0
    for attempt in range(4):
        tries = 2 if attempt % 2 else 10
        try:
            frepo = frazil.Repository.open(http_storage(proxied, max_tries=tries,
                                                        initial_backoff_s=0.005,
                                                        max_backoff_s=0.02))
            for snap, values in expected:
                got = zarr.open_array(frepo.readonly_session(snapshot_id=snap).store,
                                      path="x", mode="r")[:]
                np.testing.assert_array_equal(got, values)
            ok += 1
        except frazil.StorageError:
            errors += 1
    assert ok >= 1 and ok + errors == 4


def test_operation_timeout_bounds_a_single_slow_attempt(proxy, big):
    """read_timeout_s is long, but the operation deadline cuts the stalled attempt short."""
    url, _, _ = big
    storage = http_storage(url, read_timeout_s=30, operation_timeout_s=0.6)
    proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
    t0 = time.monotonic()
    try:
        with pytest.raises(frazil.StorageError):
            asyncio.run(storage.get_object("big"))
    finally:
        proxy.destroy_toxic("hold")
    assert time.monotonic() - t0 < 3
