"""frazil-gcs at the HTTP level: fake-gcs-server behind a recording relay that can fail
requests (``frazil_s3.testing.FaultFront``, a real HTTP server; nothing is patched).

Checks the concurrency bound, retries of 5xx, refused credentials, a conditional
create whose response was lost, extra headers and resumable uploads.
"""

from __future__ import annotations

import asyncio

import pytest
from frazil import StorageError
from frazil.storage import ConditionFailedError

pytest.importorskip("frazil_s3")
from frazil_gcs import gcs_storage
from frazil_gcs.testing import storage_kwargs
from frazil_s3.testing import Fault, FaultFront


@pytest.fixture
def front(gcs_fake_endpoint):
    with FaultFront(gcs_fake_endpoint) as f:
        yield f


@pytest.fixture
def front_kwargs(front, gcs_bucket_kwargs):
    return storage_kwargs(front.endpoint, gcs_bucket_kwargs["bucket"])


def test_requests_are_bounded_by_max_concurrent_requests(front, front_kwargs):
    st = gcs_storage(prefix="bound", max_concurrent_requests=3, **front_kwargs)

    async def go():
        await asyncio.gather(*(st.put_object(f"k{i}", b"x" * i) for i in range(12)))
        front.reset_peak()
        front.rule = lambda seen: Fault.delay(0.05)
        got = await asyncio.gather(*(st.get_object(f"k{i}") for i in range(12)))
        assert got == [b"x" * i for i in range(12)]
        await st.delete_objects([f"k{i}" for i in range(12)])

    asyncio.run(go())
    assert 2 <= front.peak <= 3


def test_server_errors_are_retried_and_denials_are_clear(front, front_kwargs):
    st = gcs_storage(prefix="err", initial_backoff_s=0.01, max_tries=4, **front_kwargs)
    asyncio.run(st.put_object("k", b"v"))
    failures = iter([Fault.status(503), Fault.status(500)])
    front.rule = lambda seen: next(failures, None)
    assert asyncio.run(st.get_object("k")) == b"v"
    front.rule = lambda seen: Fault.status(403)
    with pytest.raises(StorageError, match="refused the credentials") as info:
        asyncio.run(st.get_object("k"))
    assert "gs://" in str(info.value)


def test_lost_response_of_a_conditional_create_is_not_a_conflict(front, front_kwargs):
    st = gcs_storage(prefix="lost", initial_backoff_s=0.01, **front_kwargs)
    lost = []

    def rule(seen):
        if "ifGenerationMatch=0" in seen.path and not lost:
            lost.append(seen)
            return Fault.lose_response()  # the object is written, the answer never comes
        return None

    front.rule = rule
    token = asyncio.run(st.put_object_if("repo", b"mine", expected=None))
    assert lost and asyncio.run(st.get_object_versioned("repo")) == (b"mine", token)
    # another writer's bytes are a real conflict even after a lost response
    lost.clear()
    with pytest.raises(ConditionFailedError):
        asyncio.run(gcs_storage(prefix="lost", initial_backoff_s=0.01, **front_kwargs)
                    .put_object_if("repo", b"theirs", expected=None))


def test_headers_and_resumable_uploads(front, front_kwargs):
    st = gcs_storage(prefix="hdr", headers={"x-goog-custom": "both"},
                     read_headers={"x-frazil-read": "r"},
                     write_headers={"x-goog-custom": "write"}, resumable_chunk_size=2**20,
                     **front_kwargs)
    big = bytes(range(256)) * (36 * 1024 + 1)  # just over 9 MiB
    asyncio.run(st.put_object("big", big))
    assert asyncio.run(st.get_object("big", (100, 200))) == big[100:200]
    starts = front.requests("POST", "uploadType=resumable")
    assert len(starts) == 1 and starts[0].headers.get("x-goog-custom") == "write"
    reads = front.requests("GET", "alt=media")
    assert reads and all(r.headers.get("x-frazil-read") == "r" for r in reads)
    assert all(r.headers.get("x-goog-custom") == "both" for r in reads)
    assert "x-frazil-read" not in starts[0].headers


def test_tokens_and_user_agent_reach_the_server(front, front_kwargs):
    kw = {"bucket": front_kwargs["bucket"],
          "config": {"endpoint": front.endpoint, "allow_http": "true",
                     "user_agent": "frazil-test-agent/1"}}
    st = gcs_storage(prefix="tok", bearer_token="static-token-1", **kw)
    asyncio.run(st.put_object("k", b"v"))
    seen = front.requests("POST", "uploadType=multipart")[-1]
    assert _header(seen, "Authorization") == "Bearer static-token-1"
    assert "frazil-test-agent/1" in seen.headers.get("User-Agent", "")
    st = gcs_storage(prefix="tok", get_credentials=_fresh_token, **kw)
    assert asyncio.run(st.get_object("k")) == b"v"
    assert _header(front.requests("GET")[-1], "Authorization") == "Bearer refreshed-1"


def _header(seen, name):
    return {k.lower(): v for k, v in seen.headers.items()}.get(name.lower())


def _fresh_token():
    from datetime import UTC, datetime, timedelta

    from frazil_gcs import GcsBearerCredential

    return GcsBearerCredential("refreshed-1", expires_after=datetime.now(UTC) + timedelta(hours=1))


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_tls_verification(gcs_fake_endpoint, gcs_bucket_kwargs, tmp_path):
    from frazil_s3.testing import self_signed_cert

    cert = self_signed_cert(str(tmp_path))
    with FaultFront(gcs_fake_endpoint, tls=cert) as tls_front:
        kw = {"bucket": gcs_bucket_kwargs["bucket"], "anonymous": True}
        strict = gcs_storage(prefix="tls", endpoint_url=tls_front.endpoint, max_tries=2, **kw)
        with pytest.raises(StorageError, match="gs://.*SSL|gs://.*certificate"):
            asyncio.run(strict.put_object("k", b"v"))
        loose = gcs_storage(prefix="tls", endpoint_url=tls_front.endpoint,
                            config={"allow_invalid_certificates": "true"}, **kw)
        asyncio.run(loose.put_object("k", b"v"))
        assert asyncio.run(loose.get_object("k")) == b"v"


def test_max_tries_from_storage_settings_bound_the_attempts(front, front_kwargs):
    st = gcs_storage(prefix="tries", storage_settings={
        "retries": {"max_tries": 3, "initial_backoff_ms": 1, "max_backoff_ms": 5}},
        **front_kwargs)
    asyncio.run(st.put_object("k", b"v"))
    front.seen.clear()
    front.rule = lambda seen: Fault.status(503)
    with pytest.raises(StorageError, match="503"):
        asyncio.run(st.get_object("k"))
    assert len(front.requests("GET")) == 3
