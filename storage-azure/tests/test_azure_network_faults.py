"""frazil-azure under real network faults: Azurite behind a toxiproxy-compatible TCP proxy.

Every request crosses a real TCP proxy (``frazil.testing.toxiproxy``, or a real
``toxiproxy-server`` when one is on PATH) whose toxics add latency, reset
connections, swallow data, cut responses short or refuse connections.
frazil-azure must retry through transient trouble, give a clear frazil error
when it does not pass, and never leave a half-visible commit.
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
from frazil_azure import azure_storage
from frazil_azure.testing import ACCOUNT, storage_kwargs

pytest.importorskip("toxiproxy")


@pytest.fixture
def proxy(toxiproxy_server, azurite_endpoint):
    client = toxiproxy_server.configure_client()
    up = urlsplit(azurite_endpoint)
    p = client.create(upstream=f"{up.hostname}:{up.port}", name=f"az-{uuid.uuid4().hex[:8]}",
                      listen="127.0.0.1:0")
    try:
        yield p
    finally:
        p.destroy()


@pytest.fixture
def faulty_kwargs(proxy, container):
    return storage_kwargs(f"http://{proxy.listen}/{ACCOUNT}", container)


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


def test_latency_is_only_slower(proxy, faulty_kwargs, az_kwargs):
    proxy.add_toxic(type="latency", attributes={"latency": 30, "jitter": 10})
    values = np.arange(16.0)
    _commit_array(azure_storage(prefix="lat", **faulty_kwargs), values)
    direct = frazil.Repository.open(azure_storage(prefix="lat", **az_kwargs))
    got = zarr.open_array(direct.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == values.tolist()


def test_connection_resets_are_retried_until_the_network_heals(proxy, faulty_kwargs):
    storage = azure_storage(prefix="reset", max_tries=20, initial_backoff_s=0.02,
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


def test_truncated_responses_are_retried(proxy, faulty_kwargs):
    storage = azure_storage(prefix="cut", max_tries=20, initial_backoff_s=0.02,
                            max_backoff_s=0.1, **faulty_kwargs)
    body = bytes(range(256)) * 512  # 128 KiB
    asyncio.run(storage.put_object("big", body))
    # every connection is cut after 4 KiB of the answer: headers pass, the body does not
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                    attributes={"bytes": 4096})
    healer = _later(0.4, lambda: proxy.destroy_toxic("cut"))
    try:
        assert asyncio.run(storage.get_object("big")) == body  # never a short read
        assert asyncio.run(storage.get_object("big", (1000, 70000))) == body[1000:70000]
    finally:
        healer.join()


def test_sliced_responses_are_whole(proxy, faulty_kwargs):
    storage = azure_storage(prefix="slice", **faulty_kwargs)
    body = bytes(range(256)) * 64
    asyncio.run(storage.put_object("obj", body))
    proxy.add_toxic(type="slicer", name="s", stream="downstream",
                    attributes={"average_size": 50, "size_variation": 40, "delay": 100})
    assert asyncio.run(storage.get_object("obj")) == body


def test_stalled_network_times_out_with_a_frazil_error(proxy, faulty_kwargs):
    storage = azure_storage(prefix="stall", operation_timeout_s=0.8, read_timeout_s=0.3,
                            initial_backoff_s=0.05, **faulty_kwargs)
    asyncio.run(storage.put_object("k", b"v"))
    proxy.add_toxic(type="timeout", name="hold", attributes={"timeout": 0})
    t0 = time.monotonic()
    with pytest.raises(frazil.StorageError, match="timed out"):
        asyncio.run(storage.get_object("k"))
    assert time.monotonic() - t0 < 3
    proxy.destroy_toxic("hold")
    assert asyncio.run(storage.get_object("k")) == b"v"


def test_lost_response_of_a_conditional_create_is_not_a_conflict(proxy, faulty_kwargs, caplog):
    """The create lands but its answer is cut: the retry sees 409 and reads back its bytes."""
    storage = azure_storage(prefix="lost", max_tries=20, initial_backoff_s=0.05,
                            max_backoff_s=0.1, **faulty_kwargs)
    asyncio.run(storage.put_object("warm", b"w"))
    # answers are cut after a few bytes: requests reach Azurite, responses never arrive whole
    proxy.add_toxic(type="limit_data", name="cut", stream="downstream",
                    attributes={"bytes": 10})
    healer = _later(0.5, lambda: proxy.destroy_toxic("cut"))
    try:
        with caplog.at_level(logging.DEBUG, logger="frazil.storage"):
            token = asyncio.run(storage.put_object_if("new", b"mine", expected=None))
    finally:
        healer.join()
    assert any("put attempt 1 failed" in r.getMessage() for r in caplog.records)
    data, current = asyncio.run(storage.get_object_versioned("new"))
    assert (data, current) == (b"mine", token)
    from frazil.storage import ConditionFailedError

    with pytest.raises(ConditionFailedError):  # a real competitor is still a conflict
        asyncio.run(storage.put_object_if("new", b"theirs", expected=None))


def test_unreachable_store_gives_a_clear_error_and_no_commit(proxy, faulty_kwargs, az_kwargs):
    _repo, first = _commit_array(azure_storage(prefix="down", **faulty_kwargs), np.zeros(8))
    flaky = frazil.Repository.open(azure_storage(prefix="down", max_tries=3,
                                                 initial_backoff_s=0.01, **faulty_kwargs))
    s = flaky.writable_session("main")
    zarr.open_array(s.store, path="a")[:] = 1.0
    proxy.disable()  # connections refused from here on
    try:
        with pytest.raises(frazil.StorageError) as info:
            s.commit("never lands")
        assert "az://" in str(info.value)  # names the place, not an SDK traceback
    finally:
        proxy.enable()
    again = frazil.Repository.open(azure_storage(prefix="down", **az_kwargs))
    assert again.lookup_branch("main") == first
    got = zarr.open_array(again.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == [0.0] * 8


def test_commits_through_a_flapping_network_are_whole(proxy, faulty_kwargs, az_kwargs, caplog):
    import icechunk

    icechunk.set_logs_filter("error")
    def storage():  # a new client each time: new connections, each drawing its toxics
        return azure_storage(prefix="flap", max_tries=12, initial_backoff_s=0.01,
                             max_backoff_s=0.05, **faulty_kwargs)

    _commit_array(storage(), np.zeros(32))
    # a third of the connections are reset, a third more are slow
    proxy.add_toxic(type="reset_peer", name="rst", toxicity=0.3, attributes={"timeout": 5})
    proxy.add_toxic(type="latency", name="slow", toxicity=0.3, attributes={"latency": 20})
    with caplog.at_level(logging.DEBUG, logger="frazil.storage"):
        for i in range(1, 6):
            s = frazil.Repository.open(storage()).writable_session("main")
            zarr.open_array(s.store, path="a")[(i - 1) * 4:i * 4] = float(i)
            s.commit(f"flap {i}")
    assert any("retrying" in r.getMessage() for r in caplog.records)  # faults did happen
    proxy.destroy_toxic("rst")
    proxy.destroy_toxic("slow")
    want = [1.0] * 4 + [2.0] * 4 + [3.0] * 4 + [4.0] * 4 + [5.0] * 4 + [0.0] * 12
    ice = icechunk.Repository.open(icechunk.azure_storage(prefix="flap", **az_kwargs))
    got = zarr.open_array(ice.readonly_session(branch="main").store, path="a", mode="r")
    assert got[:].tolist() == want
    assert [a.message for a in ice.ancestry(branch="main")][:5] == [
        f"flap {i}" for i in range(5, 0, -1)]
