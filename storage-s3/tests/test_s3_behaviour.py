"""frazil-s3 behaviour on a real S3 API (moto server): repositories, errors, retries,
credentials, multipart, lost responses of conditional writes, the resolver.

Faults come from :class:`frazil_s3.testing.FaultFront`, a real HTTP server
between frazil and moto that answers error statuses, resets connections, loses
the response of a write that did land, or stalls; neither boto3 nor frazil's
plain HTTP route is patched.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime, timedelta

import boto3
import frazil
import numpy as np
import pytest
import zarr
from frazil.plugins import get_plugins, reset_plugins
from frazil.storage import ConditionFailedError, ObjectNotFoundError, storage_from_url
from frazil_s3 import (
    S3ChunkResolver,
    S3StaticCredentials,
    S3Storage,
    s3_container_access,
    s3_credentials,
    s3_storage,
    s3_store,
)
from frazil_s3.testing import Fault, iam_user_kwargs


def _raw(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def test_repository_lifecycle(s3_kwargs, s3_endpoint):
    storage = s3_storage(prefix="lifecycle", **s3_kwargs)
    repo = frazil.Repository.create(storage)
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    arr = root.create_array("a", shape=(1000,), chunks=(200,), dtype="i4")
    arr[:] = np.arange(1000)
    first = s.commit("first")
    repo.create_branch("dev", first)
    s = repo.writable_session("dev")
    zarr.open_array(s.store, path="a")[:10] = -1
    second = s.commit("second")
    repo.create_tag("v1", second)
    again = frazil.Repository.open(s3_storage(prefix="lifecycle", **s3_kwargs))
    assert again.list_branches() == {"main", "dev"} and again.list_tags() == {"v1"}
    dev = zarr.open_array(again.readonly_session(branch="dev").store, path="a", mode="r")
    main = zarr.open_array(again.readonly_session(branch="main").store, path="a", mode="r")
    assert dev[:10].tolist() == [-1] * 10 and main[:].tolist() == list(range(1000))
    assert [p.message for p in again.ancestry(branch="dev")][:2] == ["second", "first"]
    keys = [o["Key"] for o in _raw(s3_endpoint).list_objects_v2(
        Bucket=s3_kwargs["bucket"], Prefix="lifecycle/")["Contents"]]
    assert "lifecycle/repo" in keys and any(k.startswith("lifecycle/snapshots/") for k in keys)
    again.delete_branch("dev")
    assert again.list_branches() == {"main"}


def test_url_scheme_and_registry(s3_kwargs):
    reset_plugins()
    try:
        kw = {k: v for k, v in s3_kwargs.items() if k != "bucket"}
        s = storage_from_url(f"s3://{s3_kwargs['bucket']}/some/prefix", **kw)
        assert isinstance(s, S3Storage) and s.prefix == "some/prefix"
        rows = {(r.name, r.kind) for r in get_plugins().list_plugins()
                if r.distribution == "frazil-s3"}
        assert ("s3", "storage") in rows and ("s3", "virtual chunk resolver") in rows
    finally:
        reset_plugins()


def test_bad_inputs(s3_kwargs, s3_endpoint):
    kw = dict(s3_kwargs, bucket="no-such-bucket-here")
    with pytest.raises(frazil.StorageError, match="does not exist"):
        frazil.Repository.create(s3_storage(prefix="x", **kw))
    with pytest.raises(frazil.InvalidInputError):
        s3_storage(prefix="x", **dict(s3_kwargs, allow_http=False))
    with pytest.raises(frazil.InvalidInputError):
        s3_storage(prefix="x", bogus_option=1, **s3_kwargs)
    with pytest.raises(frazil.InvalidInputError):
        s3_storage(prefix="x", anonymous=True, **s3_kwargs)  # conflicting credentials
    # opening where there is no repository
    with pytest.raises(frazil.IcechunkError):
        frazil.Repository.open(s3_storage(prefix="empty", **s3_kwargs))


def test_missing_bucket_and_missing_key(s3_kwargs):
    storage = s3_storage(prefix="creds", **s3_kwargs)

    async def main():
        await storage.put_object("ok", b"1")
        bad = s3_storage(prefix="creds", **dict(s3_kwargs, bucket="definitely-missing"))
        with pytest.raises(frazil.StorageError) as info:
            await bad.get_object("ok")
        assert not isinstance(info.value, ObjectNotFoundError)
        with pytest.raises(ObjectNotFoundError):
            await storage.get_object("missing")

    asyncio.run(main())


def test_missing_objects_clear_errors_and_no_half_commit(s3_kwargs, s3_endpoint, front,
                                                         front_kwargs):
    storage = s3_storage(prefix="broken", **s3_kwargs)
    repo = frazil.Repository.create(storage)
    s = repo.writable_session("main")
    arr = zarr.create_array(s.store, name="a", shape=(4000,), chunks=(2000,), dtype="f8")
    arr[:] = np.arange(4000.0)
    good = s.commit("good")
    raw = _raw(s3_endpoint)
    chunk_keys = [o["Key"] for o in raw.list_objects_v2(
        Bucket=s3_kwargs["bucket"], Prefix="broken/chunks/")["Contents"]]
    raw.delete_object(Bucket=s3_kwargs["bucket"], Key=chunk_keys[0])
    fresh = frazil.Repository.open(s3_storage(prefix="broken", **s3_kwargs))
    with pytest.raises(Exception) as info:  # noqa: PT011 - zarr may wrap it
        zarr.open_array(fresh.readonly_session(branch="main").store, path="a", mode="r")[:]
    assert "not found" in str(info.value).lower() or isinstance(info.value, frazil.IcechunkError)

    # A commit whose final repo update fails leaves the branch where it was.
    s = fresh.writable_session("main")
    zarr.open_array(s.store, path="a")[:2000] = 9.0
    client = s3_storage(prefix="broken", **s3_kwargs)
    blocked = s3_storage(prefix="broken", max_tries=2, initial_backoff_s=0.001, **front_kwargs)
    front.rule = lambda req: Fault.status(503) if (
        req.method == "PUT" and req.path.endswith("/broken/repo")) else None
    r = frazil.Repository.open(blocked)
    s = r.writable_session("main")
    zarr.open_array(s.store, path="a")[:2000] = 9.0
    with pytest.raises(frazil.StorageError):
        s.commit("never visible")
    assert len(front.requests("PUT", "/broken/repo")) == 2  # both tries answered 503
    after = frazil.Repository.open(client)
    assert after.lookup_branch("main") == good


def test_retries_on_503_and_connection_reset(front, front_kwargs):
    storage = s3_storage(prefix="retry", max_tries=7, initial_backoff_s=0.01, **front_kwargs)
    plan: list[Fault] = []
    front.rule = lambda req: plan.pop(0) if plan else None

    async def main():
        plan[:] = [Fault.status(503), Fault.reset(), Fault.status(429), Fault.status(408),
                   Fault.status(499), Fault.status(502)]
        await storage.put_object("k", b"v")
        assert not plan and len(front.requests("PUT", "/retry/k")) == 7
        plan[:] = [Fault.reset(), Fault.status(500)]
        assert await storage.get_object("k") == b"v"
        assert not plan and len(front.requests("GET", "/retry/k")) == 3
        # listing and batch deletes go through boto3: the same retry loop
        plan[:] = [Fault.status(503), Fault.reset()]
        assert [o.path for o in await storage.list_objects_async("")] == ["k"]
        assert not plan
        plan[:] = [Fault.status(503)]
        assert await storage.delete_objects(["k"]) == 1
        assert not plan and not await storage.exists("k")

    asyncio.run(main())

    never = s3_storage(prefix="retry", max_tries=3, initial_backoff_s=0.01, **front_kwargs)
    front.rule = lambda req: Fault.status(500)
    front.seen.clear()
    with pytest.raises(frazil.StorageError, match="InternalError"):
        asyncio.run(never.get_object("k"))
    assert len(front.requests("GET")) == 3

    no_retry = s3_storage(prefix="retry", max_tries=5, initial_backoff_s=0.01, **front_kwargs)
    front.rule = lambda req: Fault.status(403)
    front.seen.clear()
    with pytest.raises(frazil.StorageError, match="refused"):
        asyncio.run(no_retry.get_object("k"))
    assert len(front.requests("GET")) == 1  # 403 is not retried
    front.rule = lambda req: Fault.status(404, "NoSuchBucket")
    with pytest.raises(frazil.StorageError, match="does not exist"):
        asyncio.run(no_retry.get_object("k"))


@pytest.mark.parametrize("limit", [1, 4])
def test_max_concurrent_requests_bounds_requests_in_flight(front, front_kwargs, limit):
    storage = s3_storage(prefix="bound", max_concurrent_requests=limit, **front_kwargs)

    async def main():
        await asyncio.gather(*(storage.put_object(f"k{i}", b"v") for i in range(12)))
        front.rule = lambda req: Fault.delay(0.03)  # keep each request open a while
        front.reset_peak()
        got = await asyncio.gather(*(storage.get_object(f"k{i % 12}") for i in range(24)))
        assert got == [b"v"] * 24 and len(front.requests("GET")) == 24

    asyncio.run(main())
    assert front.peak == limit  # reached, never exceeded


def test_operation_timeout(front, front_kwargs):
    import time

    storage = s3_storage(prefix="slow", operation_timeout_s=0.3, initial_backoff_s=0.05,
                         **front_kwargs)
    front.rule = lambda req: Fault.delay(0.5)
    t0 = time.monotonic()
    with pytest.raises(frazil.StorageError, match="timed out"):
        asyncio.run(storage.get_object("k"))
    assert time.monotonic() - t0 < 1.0


def test_lost_response_of_conditional_write_is_not_a_conflict(front, front_kwargs):
    storage = s3_storage(prefix="lost", max_tries=3, initial_backoff_s=0.01, **front_kwargs)
    lose = {"n": 0}

    def rule(req):
        if req.method == "PUT" and lose["n"]:  # the write lands; its answer never arrives
            lose["n"] -= 1
            return Fault.lose_response()
        return None

    front.rule = rule

    async def main():
        lose["n"] = 1
        t1 = await storage.put_object_if("repo", b"v1", expected=None)
        assert lose["n"] == 0 and len(front.requests("PUT", "/lost/repo")) == 2
        data, tok = await storage.get_object_versioned("repo")
        assert data == b"v1" and tok == t1
        lose["n"] = 1
        t2 = await storage.put_object_if("repo", b"v2", expected=t1)
        assert lose["n"] == 0 and t2 != t1
        assert await storage.get_object_versioned("repo") == (b"v2", t2)
        # A real conflict after a lost response is still a conflict.
        other = s3_storage(prefix="lost", **front_kwargs)
        await other.put_object_if("repo", b"theirs", expected=t2)
        lose["n"] = 1
        with pytest.raises(ConditionFailedError):
            await storage.put_object_if("repo", b"mine", expected=t2)
        assert await storage.get_object("repo") == b"theirs"

    asyncio.run(main())


def test_multipart_above_threshold(front_kwargs, front, s3_endpoint, s3_kwargs):
    storage = s3_storage(prefix="mp", multipart_threshold=11 * 2**20,
                         multipart_part_size=5 * 2**20, storage_class="STANDARD_IA",
                         **front_kwargs)
    data = np.random.default_rng(0).bytes(12 * 2**20 + 5)
    small = b"x" * 1000

    async def main():
        await storage.put_object("big", data)
        await storage.put_object("small", small)
        assert await storage.get_object("big") == data

    asyncio.run(main())
    puts = front.requests("PUT", "/mp/")
    assert len([p for p in puts if "partNumber=" in p.path]) == 3
    assert len(front.requests("POST", "/mp/big?uploads")) == 1  # create
    assert len([p for p in front.requests("POST", "/mp/big") if "uploadId=" in p.path]) == 1
    assert [p.path.rsplit("/", 1)[-1] for p in puts if "partNumber=" not in p.path] == ["small"]
    assert all(p.headers.get("x-amz-storage-class") == "STANDARD_IA" for p in puts
               if "partNumber=" not in p.path)
    head = _raw(s3_endpoint).head_object(Bucket=s3_kwargs["bucket"], Key="mp/big")
    assert head["ContentLength"] == len(data) and head.get("StorageClass") == "STANDARD_IA"


def test_credentials_never_shown(s3_kwargs, caplog):
    secret = "SUPERSECRETVALUE123456"
    kw = dict(s3_kwargs, access_key_id="AKIAEXAMPLEKEY99", secret_access_key=secret,
              session_token="TOKENTOKENTOKEN")
    storage = s3_storage(prefix="r", **kw)
    with caplog.at_level(logging.DEBUG):
        asyncio.run(storage.exists("x"))
    text = repr(storage) + repr(storage._s3) + repr(s3_credentials(
        access_key_id="AKIAEXAMPLEKEY99", secret_access_key=secret)) + caplog.text
    assert secret not in text and "TOKENTOKENTOKEN" not in text
    assert "AKIAEXAMPLEKEY99" not in repr(storage)
    clone = pickle.loads(pickle.dumps(storage))
    assert secret not in repr(clone)


_CALLS: list[datetime] = []


def _short_lived() -> S3StaticCredentials:
    _CALLS.append(datetime.now(UTC))
    # expires in 5 minutes: inside botocore's mandatory refresh window, so every
    # request fetches again (a long-lived answer would be reused)
    return S3StaticCredentials("x", "x", None, datetime.now(UTC) + timedelta(minutes=5))


def _long_lived() -> S3StaticCredentials:
    _CALLS.append(datetime.now(UTC))
    return S3StaticCredentials("x", "x", None, datetime.now(UTC) + timedelta(hours=2))


def test_refreshable_credentials(s3_kwargs):
    kw = {k: v for k, v in s3_kwargs.items() if k not in ("access_key_id", "secret_access_key")}
    _CALLS.clear()
    storage = s3_storage(prefix="refresh", get_credentials=_short_lived, **kw)

    async def main(s):
        for i in range(3):
            await s.put_object(f"k{i}", b"v")

    asyncio.run(main(storage))
    assert len(_CALLS) >= 3  # called again before expiry
    _CALLS.clear()
    storage = s3_storage(prefix="refresh", get_credentials=_long_lived, **kw)
    asyncio.run(main(storage))
    assert len(_CALLS) == 1
    clone = pickle.loads(pickle.dumps(storage))  # travels to other processes
    asyncio.run(main(clone))


def test_from_env_and_anonymous(s3_kwargs, monkeypatch):
    kw = {k: v for k, v in s3_kwargs.items() if k not in ("access_key_id", "secret_access_key")}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "envkey")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
    storage = s3_storage(prefix="env", from_env=True, **kw)
    asyncio.run(storage.put_object("k", b"v"))
    _raw(s3_kwargs["endpoint_url"]).put_object(Bucket=s3_kwargs["bucket"], Key="env/k",
                                               Body=b"v", ACL="public-read")
    anon = s3_storage(prefix="env", anonymous=True, **kw)
    assert asyncio.run(anon.get_object("k")) == b"v"  # moto does not enforce auth


def test_resolver_reads_ranges_with_its_own_credentials(s3_kwargs, s3_endpoint):
    raw = _raw(s3_endpoint)
    raw.create_bucket(Bucket="vdata")
    payload = bytes(range(256)) * 4
    raw.put_object(Bucket="vdata", Key="files/blob.bin", Body=payload)
    store = s3_store(region="us-east-1", endpoint_url=s3_endpoint, allow_http=True,
                     force_path_style=True)
    creds = s3_credentials(access_key_id="other", secret_access_key="other")
    factory = get_plugins().resolver_for_scheme("s3")
    resolver = factory("s3://vdata/files/", s3_container_access(store, creds))
    assert isinstance(resolver, S3ChunkResolver)
    assert asyncio.run(resolver.fetch("s3://vdata/files/blob.bin", 10, 20)) == payload[10:20]
    with pytest.raises(frazil.StorageError):
        asyncio.run(resolver.fetch("s3://vdata/files/missing.bin", 0, 4))


def _set_moto_auth(endpoint: str, count: str) -> None:
    """Make moto check signatures after ``count`` more requests (``inf``: never)."""
    import urllib.request

    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(),
                                 method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()


def test_signatures_and_wrong_credentials_checked_by_the_server(s3_kwargs, s3_endpoint):

    kw = iam_user_kwargs(s3_endpoint, s3_kwargs, "frazil")
    _set_moto_auth(s3_endpoint, "0")
    try:
        # an odd prefix: the signed path must match what is sent, byte for byte
        storage = s3_storage(prefix="signed/a b+c=d~e", **kw)

        async def main():
            await storage.put_object("k", b"0123456789")  # plain route
            assert await storage.get_object("k", (2, 5)) == b"234"
            assert await storage.object_size("k") == 10
            tok = await storage.put_object_if("repo", b"v1", expected=None)
            await storage.put_object_if("repo", b"v2", expected=tok)
            assert sorted(o.path for o in await storage.list_objects_async("")) == ["k", "repo"]
            assert await storage.delete_objects(["k"]) == 1  # boto3 route

        asyncio.run(main())
        repo = frazil.Repository.create(s3_storage(prefix="signed/repo", **kw))
        s = repo.writable_session("main")
        zarr.create_array(s.store, name="a", shape=(10,), chunks=(5,), dtype="i2")[:] = 7
        s.commit("signed")
        fresh = frazil.Repository.open(s3_storage(prefix="signed/repo", **kw))
        got = zarr.open_array(fresh.readonly_session(branch="main").store, path="a", mode="r")
        assert got[:].tolist() == [7] * 10

        wrong = s3_storage(prefix="signed/repo", max_tries=2, initial_backoff_s=0.001,
                           **dict(kw, secret_access_key="not-the-secret"))
        with pytest.raises(frazil.StorageError, match="refused"):
            asyncio.run(wrong.get_object("repo"))
        with pytest.raises(frazil.StorageError, match="refused"):
            asyncio.run(wrong.put_object("intruder", b"x"))
        with pytest.raises(frazil.StorageError, match="refused"):
            asyncio.run(wrong.list_objects_async(""))
        with pytest.raises(frazil.StorageError):
            frazil.Repository.open(wrong)
    finally:
        _set_moto_auth(s3_endpoint, "inf")
    assert "intruder" not in [o["Key"].rsplit("/", 1)[-1] for o in _raw(s3_endpoint)
                              .list_objects_v2(Bucket=s3_kwargs["bucket"])["Contents"]]


def test_redirect_hands_requests_to_boto3(front, front_kwargs):
    """A 301 (bucket in another region) is not the plain route's to follow: boto3 takes over."""
    storage = s3_storage(prefix="moved", max_tries=2, initial_backoff_s=0.01, **front_kwargs)
    asyncio.run(storage.put_object("k", b"v"))
    assert storage._s3.direct().enabled
    assert front.requests("PUT")[0].headers["User-Agent"].startswith("frazil-s3/")
    plan = [Fault.status(301, "PermanentRedirect")]
    front.rule = lambda req: plan.pop(0) if plan else None
    assert asyncio.run(storage.get_object("k")) == b"v"
    assert not plan and not storage._s3.direct().enabled
    front.seen.clear()
    asyncio.run(storage.put_object("k2", b"w"))  # from now on boto3 sends everything
    assert front.requests("PUT")[0].headers["User-Agent"].startswith("Botocore/")


def test_https_endpoint_with_a_private_ca(s3_endpoint, bucket, tmp_path, monkeypatch):
    """TLS is verified on both routes, against the CA bundle botocore is given."""
    from frazil_s3.testing import FaultFront, self_signed_cert, storage_kwargs

    cert, key = self_signed_cert(str(tmp_path))
    with FaultFront(s3_endpoint, tls=(cert, key)) as tls_front:
        kw = dict(storage_kwargs(tls_front.endpoint, bucket), allow_http=False)
        untrusted = s3_storage(prefix="tls", max_tries=2, initial_backoff_s=0.01, **kw)
        with pytest.raises(frazil.StorageError, match="SSL|certificate"):
            asyncio.run(untrusted.put_object("k", b"v"))
        assert not tls_front.requests("PUT")  # nothing crossed an unverified connection
        monkeypatch.setenv("AWS_CA_BUNDLE", cert)
        storage = s3_storage(prefix="tls", **kw)

        async def main():
            await storage.put_object("k", b"v")  # plain route
            assert await storage.get_object("k") == b"v"
            assert [o.path for o in await storage.list_objects_async("")] == ["k"]  # plain route
            assert await storage.delete_objects(["k"]) == 1  # boto3

        asyncio.run(main())
        assert len(tls_front.requests("PUT")) == 1 and len(tls_front.requests("GET")) == 2
