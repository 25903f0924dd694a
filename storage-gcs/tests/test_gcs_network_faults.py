"""frazil-gcs under real network faults: fake-gcs-server behind a toxiproxy-compatible proxy.

Every request crosses a real TCP proxy (``frazil.testing.toxiproxy``, or a real
``toxiproxy-server`` on PATH) whose toxics add latency, reset connections,
cut responses short, stall, or refuse connections. frazil must retry through
transient trouble, fail with a clear frazil error otherwise, and never leave a
half-visible commit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from urllib.parse import urlsplit

import frazil
import numpy as np
import pytest
import zarr
from frazil_gcs import gcs_storage
from frazil_gcs.testing import storage_kwargs

pytest.importorskip("toxiproxy")


@pytest.fixture
def proxy(toxiproxy_server, gcs_endpoint):
    client = toxiproxy_server.configure_client()
    up = urlsplit(gcs_endpoint)
    p = client.create(upstream=f"{up.hostname}:{up.port}", name=f"gcs-{uuid.uuid4().hex[:8]}",
                      listen="127.0.0.1:0")
    try:
        yield p
    finally:
        p.destroy()


@pytest.fixture
def faulty_kwargs(proxy, bucket):
    return storage_kwargs(f"http://{proxy.listen}", bucket)


def _later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def _commit_array(storage, values):
    repo = frazil.Repository.create(storage)
    s = repo.writable_session("main")
    arr = zarr.create_array(s.store, name="a", shape=(len(values),), chunks=(4,), dtype="f8")
    arr[:] = values
    return repo, s.commit("through the proxy")


def test_latency_is_only_slower(proxy, faulty_kwargs, gcs_kwargs):
    proxy.add_toxic(type="latency", attributes={"latency": 30, "jitter": 10})
    values = np.arange(16.0)
    _commit_array(gcs_storage(prefix="lat", **faulty_kwargs), values)
    direct = frazil.Repository.open(gcs_storage(prefix="lat", **gcs_kwargs))
    got = zarr.open_array(direct.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == values.tolist()


def test_connection_resets_are_retried_until_the_network_heals(proxy, faulty_kwargs):
    storage = gcs_storage(prefix="reset", max_tries=20, initial_backoff_s=0.02,
                          max_backoff_s=0.1, **faulty_kwargs)
    asyncio.run(storage.put_object("k", b"payload"))
    proxy.add_toxic(type="reset_peer", name="rst", attributes={"timeout": 0})
    healer = _later(0.4, lambda: proxy.destroy_toxic("rst"))
    t0 = time.monotonic()
    try:
        assert asyncio.run(storage.get_object("k")) == b"payload"
        asyncio.run(storage.put_object("k2", b"more"))
    finally:
        healer.join()
    assert time.monotonic() - t0 >= 0.35  # it really did wait out the resets
    assert asyncio.run(storage.get_object("k2")) == b"more"


@pytest.mark.parametrize("byte_range", [None, (1000, 120_000)])
def test_truncated_responses_are_retried(proxy, faulty_kwargs, byte_range):
    storage = gcs_storage(prefix="cut", max_tries=20, initial_backoff_s=0.02,
                          max_backoff_s=0.1, **faulty_kwargs)
    body = bytes(range(256)) * 512  # 128 KiB
    asyncio.run(storage.put_object("big", body))
    # every connection is cut after 4 KiB of the answer: headers pass, the body does not
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                    attributes={"bytes": 4096})
    healer = _later(0.4, lambda: proxy.destroy_toxic("cut"))
    try:
        got = asyncio.run(storage.get_object("big", byte_range))
    finally:
        healer.join()
    want = body if byte_range is None else body[byte_range[0]:byte_range[1]]
    assert got == want  # never a short read


def test_stalled_network_times_out_with_a_frazil_error(proxy, faulty_kwargs):
    storage = gcs_storage(prefix="stall", operation_timeout_s=0.8, read_timeout_s=0.3,
                          initial_backoff_s=0.05, **faulty_kwargs)
    asyncio.run(storage.put_object("k", b"v"))
    proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
    t0 = time.monotonic()
    with pytest.raises(frazil.StorageError, match="timed out|Timeout"):
        asyncio.run(storage.get_object("k"))
    assert time.monotonic() - t0 < 3
    proxy.destroy_toxic("hold")
    assert asyncio.run(storage.get_object("k")) == b"v"


def test_unreachable_store_gives_a_clear_error_and_no_commit(proxy, faulty_kwargs, gcs_kwargs):
    _, first = _commit_array(gcs_storage(prefix="down", **faulty_kwargs), np.zeros(8))
    flaky = frazil.Repository.open(gcs_storage(prefix="down", max_tries=3,
                                               initial_backoff_s=0.01, **faulty_kwargs))
    s = flaky.writable_session("main")
    zarr.open_array(s.store, path="a")[:] = 1.0
    proxy.disable()  # connections refused from here on
    try:
        with pytest.raises(frazil.StorageError) as info:
            s.commit("never lands")
        assert "gs://" in str(info.value)  # names the place, not a urllib3 traceback
    finally:
        proxy.enable()
    again = frazil.Repository.open(gcs_storage(prefix="down", **gcs_kwargs))
    assert again.lookup_branch("main") == first
    got = zarr.open_array(again.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == [0.0] * 8


def test_commits_through_a_flapping_network_are_whole(proxy, faulty_kwargs, gcs_kwargs, caplog):
    def storage():
        return gcs_storage(prefix="flap", max_tries=12, initial_backoff_s=0.01,
                           max_backoff_s=0.05, **faulty_kwargs)

    _commit_array(storage(), np.zeros(32))
    # a third of the connections are reset, a few more are slow
    proxy.add_toxic(type="reset_peer", name="rst", toxicity=0.3, attributes={"timeout": 5})
    proxy.add_toxic(type="latency", name="slow", toxicity=0.3, attributes={"latency": 20})
    with caplog.at_level(logging.DEBUG, logger="frazil.storage"):
        for i in range(1, 6):
            # a fresh client each time: new connections, each drawing its toxics
            s = frazil.Repository.open(storage()).writable_session("main")
            zarr.open_array(s.store, path="a")[(i - 1) * 4:i * 4] = float(i)
            s.commit(f"flap {i}")
    assert any("retrying" in r.getMessage() for r in caplog.records)  # faults did happen
    proxy.destroy_toxic("rst")
    proxy.destroy_toxic("slow")
    want = [1.0] * 4 + [2.0] * 4 + [3.0] * 4 + [4.0] * 4 + [5.0] * 4 + [0.0] * 12
    fresh = frazil.Repository.open(gcs_storage(prefix="flap", **gcs_kwargs))
    got = zarr.open_array(fresh.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == want
    assert [a.message for a in fresh.ancestry(branch="main")][:5] == [
        f"flap {i}" for i in range(5, 0, -1)]
