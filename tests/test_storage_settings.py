"""``RepositoryConfig(storage=StorageSettings(...))`` changes what the storage does.

Every test goes through a real HTTP front before moto (``FaultFront``): it sees
each request as sent (headers included) and fails or delays some on demand, so
retries, timeouts, conditional headers, storage classes, multipart uploads and
split reads are observed on the wire. Where icechunk exposes the same
behaviour, the same test runs on the real icechunk 2.3 too.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import zarr
from _interop_support import load_lib

pytestmark = pytest.mark.interop

BOTH = ["frazil", "icechunk"]


@pytest.fixture
def front(s3_bucket_kwargs):
    from frazil_s3.testing import FaultFront

    with FaultFront(s3_bucket_kwargs["endpoint_url"]) as f:
        yield f


def _storage(lib, kw, front, prefix="repo"):
    return lib.s3_storage(prefix=prefix, **{**kw, "endpoint_url": front.endpoint})


def _config(lib, **settings):
    return lib.RepositoryConfig(storage=lib.StorageSettings(**settings))


def _commit(lib, repo, value=1.0):
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    root.create_array("x", shape=(4,), chunks=(2,), dtype="f8", overwrite=True)[:] = value
    return session.commit("c")


def _failing(method, suffix, times, fault):
    """A front rule failing the first ``times`` ``method`` requests whose path ends so."""
    left = [times]

    def rule(seen):
        if seen.method == method and seen.path.split("?")[0].endswith(suffix) and left[0] > 0:
            left[0] -= 1
            return fault
        return None

    return rule


# ---------------------------------------------------------------------------- retries

@pytest.mark.parametrize("lib_name", BOTH)
def test_max_tries_bounds_the_attempts(s3_bucket_kwargs, front, lib_name):
    from frazil_s3.testing import Fault

    lib = load_lib(lib_name)
    lib.Repository.create(_storage(lib, s3_bucket_kwargs, front))
    fast = lib.StorageRetriesSettings(max_tries=2, initial_backoff_ms=1, max_backoff_ms=5)
    front.rule = _failing("GET", "/repo", 3, Fault.status(503))
    front.seen.clear()
    with pytest.raises(lib.IcechunkError if lib_name == "icechunk" else lib.StorageError):
        lib.Repository.open(_storage(lib, s3_bucket_kwargs, front),
                            config=_config(lib, retries=fast))
    assert len(front.requests("GET", "/repo/repo")) == 2  # two tries, no more

    front.rule = _failing("GET", "/repo", 3, Fault.status(503))
    front.seen.clear()
    patient = lib.StorageRetriesSettings(max_tries=4, initial_backoff_ms=1, max_backoff_ms=5)
    repo = lib.Repository.open(_storage(lib, s3_bucket_kwargs, front),
                               config=_config(lib, retries=patient))
    assert len(front.requests("GET", "/repo/repo")) == 4  # three failures, then success
    assert repo.list_branches() == {"main"}


def test_persisted_retries_apply_to_a_handle_opened_without_config(s3_bucket_kwargs, front):
    """The settings saved in the repository govern a later ``open`` with no config."""
    from frazil_s3.testing import Fault

    frazil = load_lib("frazil")
    one_try = frazil.StorageRetriesSettings(max_tries=1)
    repo = frazil.Repository.create(_storage(frazil, s3_bucket_kwargs, front),
                                    config=_config(frazil, retries=one_try))
    snap = _commit(frazil, repo)
    repo = frazil.Repository.open(_storage(frazil, s3_bucket_kwargs, front))
    front.rule = _failing("GET", snap, 1, Fault.status(503))
    front.seen.clear()
    with pytest.raises(frazil.StorageError):
        repo.readonly_session(snapshot_id=snap)
    assert len(front.requests("GET", snap)) == 1
    # without the persisted setting, the default 10 tries ride over the same fault
    repo = frazil.Repository.open(_storage(frazil, s3_bucket_kwargs, front),
                                  config=_config(frazil, retries=frazil.StorageRetriesSettings(
                                      max_tries=10, initial_backoff_ms=1)))
    front.rule = _failing("GET", snap, 1, Fault.status(503))
    assert repo.readonly_session(snapshot_id=snap).snapshot_id == snap


# --------------------------------------------------------------------------- timeouts

def test_read_timeout_fails_a_slow_request_quickly(s3_bucket_kwargs, front):
    from frazil_s3.testing import Fault

    frazil = load_lib("frazil")
    frazil.Repository.create(_storage(frazil, s3_bucket_kwargs, front))
    front.rule = _failing("GET", "/repo", 1, Fault.delay(3.0))
    config = _config(frazil, timeouts=frazil.StorageTimeoutSettings(read_timeout_ms=300),
                     retries=frazil.StorageRetriesSettings(max_tries=1))
    t0 = time.monotonic()
    with pytest.raises(frazil.StorageError):
        frazil.Repository.open(_storage(frazil, s3_bucket_kwargs, front), config=config)
    assert time.monotonic() - t0 < 2.5
    # the default timeout waits for the same slow answer
    front.rule = _failing("GET", "/repo", 1, Fault.delay(1.0))
    assert frazil.Repository.open(_storage(frazil, s3_bucket_kwargs, front)).list_branches() \
        == {"main"}


# ------------------------------------------------------------------ conditional writes

def _conditional_puts(front):
    puts = front.requests("PUT", "/repo/repo")
    names = [{k.lower() for k in s.headers} for s in puts]
    return [("if-match" in n, "if-none-match" in n) for n in names]


@pytest.mark.parametrize("lib_name", BOTH)
def test_unsafe_conditional_flags_drop_the_preconditions(s3_bucket_kwargs, front, lib_name):
    lib = load_lib(lib_name)
    repo = lib.Repository.create(_storage(lib, s3_bucket_kwargs, front))
    _commit(lib, repo)
    assert _conditional_puts(front)[0] == (False, True)  # creation: If-None-Match
    assert _conditional_puts(front)[-1] == (True, False)  # update: If-Match

    front.seen.clear()
    plain = _config(lib, unsafe_use_conditional_update=False,
                    unsafe_use_conditional_create=False)
    repo = lib.Repository.open(_storage(lib, s3_bucket_kwargs, front), config=plain)
    _commit(lib, repo, 2.0)
    assert _conditional_puts(front) and all(c == (False, False)
                                            for c in _conditional_puts(front))
    front.seen.clear()
    lib.Repository.create(_storage(lib, s3_bucket_kwargs, front, "repo2"), config=plain)
    created = front.requests("PUT", "/repo2/repo")
    assert created and all("if-none-match" not in {k.lower() for k in s.headers}
                           for s in created)


# ---------------------------------------------------------------- classes and multipart

def test_storage_classes_and_multipart_threshold(s3_bucket_kwargs, front):
    frazil = load_lib("frazil")
    config = _config(frazil, metadata_storage_class="STANDARD_IA",
                     chunks_storage_class="REDUCED_REDUNDANCY",
                     minimum_size_for_multipart_upload=5 * 2 ** 20)
    repo = frazil.Repository.create(_storage(frazil, s3_bucket_kwargs, front), config=config)
    session = repo.writable_session("main")
    big = zarr.create_array(session.store, name="big", shape=(800_000,), chunks=(800_000,),
                            dtype="f8", compressors=None)
    big[:] = np.arange(800_000, dtype="f8")  # one 6.4 MB chunk
    session.commit("big")
    puts = [s for s in front.seen if s.method in ("PUT", "POST")]
    classes = {("chunks" if "/chunks/" in s.path else "meta"):
               s.headers.get("x-amz-storage-class") for s in puts
               if "uploadId" not in s.path and "/repo/repo" not in s.path}
    assert classes == {"chunks": "REDUCED_REDUNDANCY", "meta": "STANDARD_IA"}
    assert any(s.method == "POST" and "uploads" in s.path and "/chunks/" in s.path
               for s in puts)  # the 6.4 MB chunk went up in parts

    front.seen.clear()  # without the settings: one plain PUT, no storage class
    repo = frazil.Repository.create(_storage(frazil, s3_bucket_kwargs, front, "plain"))
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="big", shape=(800_000,), chunks=(800_000,),
                      dtype="f8", compressors=None)[:] = 1.0
    session.commit("big")
    assert not any("uploads" in s.path for s in front.seen)
    assert not any("x-amz-storage-class" in s.headers for s in front.seen)


# ------------------------------------------------------------------------ split reads

def test_concurrency_settings_split_large_range_reads(s3_bucket_kwargs, front):
    import asyncio

    frazil = load_lib("frazil")
    storage = _storage(frazil, s3_bucket_kwargs, front)
    payload = bytes(range(256)) * 40  # 10240 bytes
    asyncio.run(storage.put_object("blob", payload))
    settings = frazil.StorageSettings(concurrency=frazil.StorageConcurrencySettings(
        max_concurrent_requests_for_object=4, ideal_concurrent_request_size=1000))
    split = storage.with_settings(settings)
    front.seen.clear()
    assert asyncio.run(split.get_object("blob", (100, 10_100))) == payload[100:10_100]
    ranges = sorted(s.headers.get("Range") for s in front.requests("GET", "/blob"))
    assert ranges == ["bytes=100-2599", "bytes=2600-5099", "bytes=5100-7599",
                      "bytes=7600-10099"]
    front.seen.clear()  # small ranges and the original storage: one request
    assert asyncio.run(split.get_object("blob", (0, 900))) == payload[:900]
    assert asyncio.run(storage.get_object("blob", (100, 10_100))) == payload[100:10_100]
    assert len(front.requests("GET", "/blob")) == 2


def test_azure_block_upload_threshold(az_container_kwargs):
    import asyncio

    from azure.storage.blob import ContainerClient
    from frazil_azure import azure_storage

    storage = azure_storage(prefix="blocks", **az_container_kwargs)
    frazil = load_lib("frazil")
    blocky = storage.with_settings(frazil.StorageSettings(
        minimum_size_for_multipart_upload=100_000))
    asyncio.run(blocky.put_object("big", b"x" * 300_000))
    asyncio.run(blocky.put_object("small", b"x" * 50_000))
    asyncio.run(storage.put_object("plain", b"x" * 300_000))
    kw = az_container_kwargs
    client = ContainerClient(f"{kw['config']['endpoint']}", kw["container"],
                             credential={"account_name": kw["account"],
                                         "account_key": kw["access_key"]})

    def blocks(name):
        committed, _ = client.get_blob_client(f"blocks/{name}").get_block_list("committed")
        return len(committed)

    assert (blocks("big"), blocks("small"), blocks("plain")) == (1, 0, 0)
    assert asyncio.run(storage.get_object("big")) == b"x" * 300_000


def test_http_storage_follows_the_repository_retries(http_www, http_nginx_url):
    """Read-only HTTP storage: a repository config's tries decide how many 503s it rides."""
    from frazil_s3.testing import Fault, FaultFront

    frazil = load_lib("frazil")
    (http_www / "settings").mkdir(exist_ok=True)
    (http_www / "settings" / "obj").write_bytes(b"served")
    with FaultFront(http_nginx_url) as f:
        storage = frazil.http_storage(f"{f.endpoint}/settings", max_tries=10,
                                      initial_backoff_s=0.01)

        def tries(n):
            return storage.with_settings(frazil.StorageSettings(
                retries=frazil.StorageRetriesSettings(max_tries=n, initial_backoff_ms=1,
                                                      max_backoff_ms=5)))

        import asyncio

        f.rule = _failing("GET", "/settings/obj", 3, Fault.status(503))
        with pytest.raises(frazil.StorageError):
            asyncio.run(tries(2).get_object("obj"))
        assert len(f.requests("GET", "/settings/obj")) == 2
        f.seen.clear()
        f.rule = _failing("GET", "/settings/obj", 3, Fault.status(503))
        assert asyncio.run(tries(4).get_object("obj")) == b"served"
        assert len(f.requests("GET", "/settings/obj")) == 4


def test_exists_and_listing_take_their_storage_settings(s3_bucket_kwargs, front):
    from frazil_s3.testing import Fault

    frazil = load_lib("frazil")
    storage = _storage(frazil, s3_bucket_kwargs, front)
    frazil.Repository.create(storage)
    one_try = frazil.StorageSettings(retries=frazil.StorageRetriesSettings(max_tries=1))
    front.rule = _failing("HEAD", "/repo/repo", 1, Fault.status(503))
    with pytest.raises(frazil.StorageError):
        frazil.Repository.exists(storage, storage_settings=one_try)
    front.rule = _failing("HEAD", "/repo/repo", 1, Fault.status(503))
    assert frazil.Repository.exists(storage)  # its own 10 tries ride over it
    bucket = s3_bucket_kwargs["bucket"]
    front.rule = _failing("GET", f"/{bucket}", 1, Fault.status(503))  # the listing
    with pytest.raises(frazil.StorageError):
        storage.list_objects_metadata(one_try)
    assert "repo" in {o.key for o in storage.list_objects_metadata(one_try)}


def test_gcs_storage_classes_per_kind(gcs_bucket_kwargs, gcs_raw_client):
    frazil = load_lib("frazil")
    from frazil_gcs import gcs_storage

    config = _config(frazil, storage_class="NEARLINE", chunks_storage_class="COLDLINE")
    repo = frazil.Repository.create(gcs_storage(prefix="classes", **gcs_bucket_kwargs),
                                    config=config)
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="x", shape=(4096,), chunks=(2048,),
                      dtype="f8")[:] = np.arange(4096.0)  # chunks too big to be inlined
    session.commit("c")
    classes = {("chunks" if "/chunks/" in b.name else "meta"): b.storage_class
               for b in gcs_raw_client.list_blobs(gcs_bucket_kwargs["bucket"],
                                                  prefix="classes/")}
    assert classes == {"chunks": "COLDLINE", "meta": "NEARLINE"}


def test_redirect_passes_the_settings_to_its_target(http_www, http_nginx_url, http_redirects):
    import asyncio

    from frazil_s3.testing import Fault, FaultFront

    frazil = load_lib("frazil")
    (http_www / "redirected").mkdir(exist_ok=True)
    (http_www / "redirected" / "obj").write_bytes(b"behind a redirect")
    with FaultFront(http_nginx_url) as f:
        url = http_redirects.add("/to-front", f"http+icechunk://{f.endpoint[7:]}/redirected")
        two_tries = frazil.StorageSettings(retries=frazil.StorageRetriesSettings(
            max_tries=2, initial_backoff_ms=1, max_backoff_ms=5))
        storage = frazil.redirect_storage(url).with_settings(two_tries)
        f.rule = _failing("GET", "/redirected/obj", 3, Fault.status(503))
        with pytest.raises(frazil.StorageError):
            asyncio.run(storage.get_object("obj"))
        assert len(f.requests("GET", "/redirected/obj")) == 2
        # the plain redirect rides over the same faults with its own 10 tries
        f.rule = _failing("GET", "/redirected/obj", 3, Fault.status(503))
        assert asyncio.run(frazil.redirect_storage(url).get_object("obj")) == b"behind a redirect"


def test_settings_icechunk_saved_govern_frazil(tmp_path):
    """A repository whose config icechunk saved with storage settings: frazil applies them."""
    ic, frazil = load_lib("icechunk"), load_lib("frazil")
    config = ic.RepositoryConfig(storage=ic.StorageSettings(
        unsafe_use_conditional_update=False,
        concurrency=ic.StorageConcurrencySettings(max_concurrent_requests_for_object=3,
                                                  ideal_concurrent_request_size=1000)))
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "r")), config=config)
    repo.save_config()
    opened = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))
    assert opened.config.storage.unsafe_use_conditional_update is False
    assert opened.storage.__dict__.get("_conditional_update") is False
    assert opened.storage.__dict__.get("_split_reads") == (3, 1000)


def test_attempt_timeout_abandons_a_stalled_attempt_and_retries(s3_bucket_kwargs, front):
    from frazil_s3.testing import Fault

    frazil = load_lib("frazil")
    frazil.Repository.create(_storage(frazil, s3_bucket_kwargs, front))
    config = _config(frazil, timeouts=frazil.StorageTimeoutSettings(
        operation_attempt_timeout_ms=300), retries=frazil.StorageRetriesSettings(
        max_tries=3, initial_backoff_ms=1, max_backoff_ms=5))
    front.rule = _failing("GET", "/repo/repo", 1, Fault.delay(2.0))
    front.seen.clear()
    t0 = time.monotonic()
    repo = frazil.Repository.open(_storage(frazil, s3_bucket_kwargs, front), config=config)
    assert time.monotonic() - t0 < 1.5  # the stalled first attempt was given up after 0.3 s
    assert repo.list_branches() == {"main"}
    assert len(front.requests("GET", "/repo/repo")) >= 2
    time.sleep(max(0.0, t0 + 2.3 - time.monotonic()))  # let the stalled relay finish
