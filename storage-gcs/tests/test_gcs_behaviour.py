"""GCS-specific behaviour of frazil-gcs on fake-gcs-server: generations as version
tokens, preconditions on resumable uploads, paging, deletes, errors, repositories."""

from __future__ import annotations

import asyncio
import pickle

import frazil
import numpy as np
import pytest
import zarr
from frazil import InvalidInputError, StorageError
from frazil.storage import ConditionFailedError, ObjectNotFoundError, VersionToken
from frazil_gcs import GcsStorage, gcs_storage


def run(coro):
    return asyncio.run(coro)


def test_version_token_is_the_generation(gcs_kwargs, gcs_client, bucket):
    st = gcs_storage(prefix="gen", **gcs_kwargs)
    token = run(st.put_object_if("repo", b"v1", expected=None))
    blob = gcs_client.bucket(bucket).get_blob("gen/repo")
    assert token == VersionToken(str(blob.generation))
    data, again = run(st.get_object_versioned("repo"))
    assert (data, again) == (b"v1", token)


def test_stale_generation_is_refused_and_nothing_written(gcs_kwargs, gcs_client, bucket):
    st = gcs_storage(prefix="stale", **gcs_kwargs)
    first = run(st.put_object_if("repo", b"v1", expected=None))
    second = run(st.put_object_if("repo", b"v2", expected=first))
    assert second != first
    with pytest.raises(ConditionFailedError):
        run(st.put_object_if("repo", b"v3", expected=first))
    with pytest.raises(ConditionFailedError):
        run(st.put_object_if("repo", b"v3", expected=None))
    with pytest.raises(ConditionFailedError):  # not a generation at all
        run(st.put_object_if("repo", b"v3", expected=VersionToken('"etag"')))
    with pytest.raises(ConditionFailedError):  # update of a missing object
        run(st.put_object_if("other", b"x", expected=second))
    assert gcs_client.bucket(bucket).blob("stale/repo").download_as_bytes() == b"v2"
    assert not gcs_client.bucket(bucket).blob("stale/other").exists()


def test_resumable_upload_keeps_its_precondition(gcs_kwargs, gcs_client, bucket):
    st = gcs_storage(prefix="big", resumable_chunk_size=2**20, **gcs_kwargs)
    body = np.random.default_rng(0).bytes(9 * 2**20 + 123)
    token = run(st.put_object_if("chunks/x", body, expected=None))
    with pytest.raises(ConditionFailedError):
        run(st.put_object_if("chunks/x", b"small", expected=None))
    # (fake-gcs-server checks only ifGenerationMatch=0 on resumable uploads; a stale
    # non-zero generation is enforced for the small objects conditional updates write)
    assert run(st.get_object("chunks/x")) == body
    assert run(st.get_object("chunks/x", (9 * 2**20, None))) == body[9 * 2**20:]
    assert gcs_client.bucket(bucket).get_blob("big/chunks/x").generation == int(token.value)


def test_listing_pages_and_prefixes(gcs_kwargs):
    st = gcs_storage(prefix="list", list_page_size=4, **gcs_kwargs)

    async def fill():
        await asyncio.gather(*(st.put_object(f"a/{i:02d}", bytes(i)) for i in range(23)),
                             st.put_object("ab", b"x"), st.put_object("b/1", b"yy"))
    run(fill())
    listed = run(st.list_objects_async("a/"))
    assert sorted(o.path for o in listed) == [f"a/{i:02d}" for i in range(23)]
    assert {o.path: o.size_bytes for o in listed}["a/07"] == 7
    assert all(o.last_modified.tzinfo is not None for o in listed)
    assert sorted(o.path for o in run(st.list_objects_async("a"))) == sorted(
        [f"a/{i:02d}" for i in range(23)] + ["ab"])
    assert len(run(st.list_objects_async())) == 25
    # a sibling prefix is invisible
    other = gcs_storage(prefix="lis", **gcs_kwargs)
    assert run(other.list_objects_async()) == []


def test_delete_counts_only_what_existed(gcs_kwargs):
    st = gcs_storage(prefix="del", **gcs_kwargs)
    async def fill():
        await asyncio.gather(*(st.put_object(f"k{i}", b"x") for i in range(130)))
    run(fill())
    paths = [f"k{i}" for i in range(130)] + ["missing", "k0"]
    assert run(st.delete_objects(paths)) == 130
    assert run(st.list_objects_async()) == []
    assert st._batch_ok is False  # fake-gcs-server has no batch API: single deletes
    assert run(st.delete_objects(["k1"])) == 0


def test_ranges(gcs_kwargs):
    st = gcs_storage(prefix="rng", **gcs_kwargs)
    run(st.put_object("o", b"0123456789"))
    assert run(st.get_object("o", (2, 5))) == b"234"
    assert run(st.get_object("o", (7, None))) == b"789"
    assert run(st.get_object("o", (-3, None))) == b"789"
    assert run(st.get_object("o", (-30, None))) == b"0123456789"
    assert run(st.get_object("o", (8, 100))) == b"89"
    assert run(st.get_object("o", (10, None))) == b""
    with pytest.raises(InvalidInputError):
        run(st.get_object("o", (11, 12)))
    with pytest.raises(ObjectNotFoundError):
        run(st.get_object("nope", (0, 2)))


def test_missing_bucket_is_a_clear_error(gcs_endpoint):
    from frazil_gcs.testing import storage_kwargs

    st = gcs_storage(prefix="p", **storage_kwargs(gcs_endpoint, "no-such-bucket-here"))
    with pytest.raises(StorageError, match="no-such-bucket-here.*does not exist") as info:
        run(st.list_objects_async())
    assert info.value.kind == "storage-config"
    for write in (st.put_object("k", b"v"), st.put_object_if("k", b"v", expected=None)):
        with pytest.raises(StorageError, match="does not exist") as info:
            run(write)
        assert info.value.kind == "storage-config"
    with pytest.raises(frazil.StorageError, match="does not exist"):
        frazil.Repository.create(st)


def test_read_only_and_bucket_root(gcs_kwargs):
    st = gcs_storage(prefix="ro", read_only=True, **gcs_kwargs)
    with pytest.raises(frazil.ReadOnlyError):
        run(st.put_object("x", b"1"))
    with pytest.raises(InvalidInputError, match="root of bucket"):
        frazil.Repository.create(gcs_storage(prefix=None, **gcs_kwargs))


def test_repository_round_trip_and_pickle(gcs_kwargs, bucket):
    repo = frazil.Repository.create(gcs_storage(prefix="repo", **gcs_kwargs))
    s = repo.writable_session("main")
    arr = zarr.create_array(s.store, name="x", shape=(20,), chunks=(3,), dtype="f8")
    arr[:] = np.arange(20.0)
    snap = s.commit("first")
    repo.create_branch("dev", snap)
    repo.create_tag("v1", snap)
    kw = {k: v for k, v in gcs_kwargs.items() if k != "bucket"}
    again = frazil.Repository.open(frazil.storage_from_url(f"gs://{bucket}/repo", **kw))
    clone = pickle.loads(pickle.dumps(again.readonly_session(tag="v1")))
    assert zarr.open_array(clone.store, path="x", mode="r")[:].tolist() == list(range(20))
    assert isinstance(frazil.storage_from_url(f"gcs://{bucket}/repo", **kw), GcsStorage)
    assert again.list_branches() == {"main", "dev"}


def test_batch_deletes_where_the_endpoint_has_the_batch_api(gcs_endpoint, bucket):
    from frazil_gcs.testing import BatchFront, storage_kwargs

    with BatchFront(gcs_endpoint) as front:
        st = gcs_storage(prefix="batch", **storage_kwargs(front.endpoint, bucket))

        async def fill():
            await asyncio.gather(*(st.put_object(f"k{i}", b"x") for i in range(150)))
        run(fill())
        paths = [f"k{i}" for i in range(150)] + ["missing", "k3"]
        assert run(st.delete_objects(paths)) == 150
        assert front.batches == [100, 51] and st._batch_ok is True
        assert run(st.list_objects_async()) == []
        run(st.put_object("keep", b"x"))
        front.sub_status = lambda method, path: 403 if method == "DELETE" else None
        with pytest.raises(StorageError, match="batch delete.*403"):
            run(st.delete_objects(["keep"]))
        assert run(st.exists("keep"))
