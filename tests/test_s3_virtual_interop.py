"""Virtual chunks in S3 (moto server) between frazil + frazil-s3 and the real icechunk 2.3.

The container's store settings (endpoint, region, allow_http, path style) are
persisted in the repository config; the kernel hands them to frazil-s3's
resolver (``store=``), so the authorization only carries credentials.
"""

from __future__ import annotations

import boto3
import numpy as np
import pytest
import zarr

pytestmark = pytest.mark.interop

icechunk = pytest.importorskip("icechunk")
frazil = pytest.importorskip("frazil")
frazil_s3 = pytest.importorskip("frazil_s3")

N, CHUNK = 64, 8


def _blob(kw):
    values = np.arange(N, dtype="<i4") * 3 + 1
    s3 = boto3.client("s3", endpoint_url=kw["endpoint_url"], region_name=kw["region"],
                      aws_access_key_id="x", aws_secret_access_key="x")
    s3.put_object(Bucket=kw["bucket"], Key="data/blob.bin", Body=values.tobytes())
    return f"s3://{kw['bucket']}/data/", f"s3://{kw['bucket']}/data/blob.bin", values


def _store_kw(kw):
    return dict(region=kw["region"], endpoint_url=kw["endpoint_url"], allow_http=True,
                s3_compatible=True, force_path_style=True)


def _grid_refs(loc):
    n = N // CHUNK
    offsets = np.arange(n, dtype="u8") * CHUNK * 4
    return [loc] * n, offsets, np.full(n, CHUNK * 4, dtype="u8")


def _ic_storage(kw, prefix):
    return icechunk.s3_storage(prefix=prefix, **kw)


def _frazil_storage(kw, prefix):
    return frazil_s3.s3_storage(prefix=prefix, **kw)


def _frazil_creds():
    return frazil_s3.s3_static_credentials(access_key_id="x", secret_access_key="x")


def _ic_auth(prefix):
    return icechunk.containers_credentials(
        {prefix: icechunk.s3_static_credentials(access_key_id="x", secret_access_key="x")})


def _ic_session(kw, repo_prefix, prefix):
    """An icechunk repo on moto with the S3 container, and a session with array ``v``."""
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.s3_store(**_store_kw(kw))))
    repo = icechunk.Repository.create(_ic_storage(kw, repo_prefix), config=cfg,
                                      authorize_virtual_chunk_access=_ic_auth(prefix))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    return repo, s


def test_icechunk_writes_s3_virtual_refs_frazil_reads(s3_bucket_kwargs):
    kw = s3_bucket_kwargs
    prefix, loc, values = _blob(kw)
    repo, s = _ic_session(kw, "vrepo", prefix)
    locs, offs, lens = _grid_refs(loc)
    assert s.store.set_virtual_refs_arr("v", (N // CHUNK,), locs, offs, lens) is None
    s.commit("icechunk virtual")
    assert np.array_equal(zarr.open_array(repo.readonly_session("main").store, path="v")[:],
                          values)

    frepo = frazil.Repository.open(_frazil_storage(kw, "vrepo"),
                                 authorize_virtual_chunk_access={prefix: _frazil_creds()})
    store = frepo.config.virtual_chunk_containers[prefix].store
    assert store.kind == "s3_compatible"
    assert store.options["endpoint_url"] == kw["endpoint_url"]
    got = zarr.open_array(frepo.readonly_session("main").store, path="v")[:]
    assert np.array_equal(got, values)


def test_frazil_writes_s3_virtual_refs_icechunk_reads(s3_bucket_kwargs):
    kw = s3_bucket_kwargs
    prefix, loc, values = _blob(kw)
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        prefix, frazil_s3.s3_store(**_store_kw(kw))))
    repo = frazil.Repository.create(_frazil_storage(kw, "vrepo"), config=cfg,
                                  authorize_virtual_chunk_access={prefix: _frazil_creds()})
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    locs, offs, lens = _grid_refs(loc)
    assert s.store.set_virtual_refs_arr("v", (N // CHUNK,), locs, offs, lens) is None
    s.commit("frazil virtual")
    assert np.array_equal(zarr.open_array(repo.readonly_session("main").store, path="v")[:],
                          values)

    # the persisted container is exactly what icechunk writes for the same s3_store
    icfg = icechunk.RepositoryConfig.default()
    icfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.s3_store(**_store_kw(kw))))
    icechunk.Repository.create(_ic_storage(kw, "icref"), config=icfg)
    from frazil.format.codec import decode_repo_info

    s3 = boto3.client("s3", endpoint_url=kw["endpoint_url"], region_name=kw["region"],
                      aws_access_key_id="x", aws_secret_access_key="x")

    def containers(p):
        raw = s3.get_object(Bucket=kw["bucket"], Key=f"{p}/repo")["Body"].read()
        return decode_repo_info(raw).config["virtual_chunk_containers"]

    assert containers("vrepo") == containers("icref")

    irepo = icechunk.Repository.open(_ic_storage(kw, "vrepo"),
                                     authorize_virtual_chunk_access=_ic_auth(prefix))
    got = zarr.open_array(irepo.readonly_session("main").store, path="v")[:]
    assert np.array_equal(got, values)


def test_store_dict_reaches_resolver(s3_bucket_kwargs):
    """Without the persisted endpoint the resolver would go to AWS; the store= keyword
    carries it, and an explicit s3_container_access still overrides it."""
    kw = s3_bucket_kwargs
    prefix, loc, _ = _blob(kw)
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        prefix, frazil_s3.s3_store(**_store_kw(kw))))
    repo = frazil.Repository.create(_frazil_storage(kw, "r"), config=cfg,
                                  authorize_virtual_chunk_access={prefix: _frazil_creds()})
    res = repo._virtual.resolver(prefix, loc)
    assert res._s3.options.endpoint_url == kw["endpoint_url"]
    assert res._s3.options.force_path_style and res._s3.options.allow_http
    other = frazil_s3.s3_store(region="eu-west-1", endpoint_url="http://127.0.0.1:1",
                             allow_http=True)
    repo2 = repo.reopen(authorize_virtual_chunk_access={
        prefix: frazil_s3.s3_container_access(other, _frazil_creds())})
    assert repo2._virtual.resolver(prefix, loc)._s3.options == other


def test_s3_etag_checksums_checked_on_read(s3_bucket_kwargs):
    """icechunk stores the object's ETag with each ref; frazil verifies it on read."""
    kw = s3_bucket_kwargs
    prefix, loc, values = _blob(kw)
    s3 = boto3.client("s3", endpoint_url=kw["endpoint_url"], region_name=kw["region"],
                      aws_access_key_id="x", aws_secret_access_key="x")
    etag = s3.head_object(Bucket=kw["bucket"], Key="data/blob.bin")["ETag"]
    repo, s = _ic_session(kw, "crepo", prefix)
    for i in range(N // CHUNK):
        s.store.set_virtual_ref(f"v/c/{i}", loc, offset=i * CHUNK * 4, length=CHUNK * 4,
                                checksum=etag)
    s.commit("with etags")
    frepo = frazil.Repository.open(_frazil_storage(kw, "crepo"),
                                 authorize_virtual_chunk_access={prefix: _frazil_creds()})
    assert np.array_equal(zarr.open_array(frepo.readonly_session("main").store, path="v")[:],
                          values)
    # the object changes: its etag changes, frazil refuses stale refs (as icechunk does)
    s3.put_object(Bucket=kw["bucket"], Key="data/blob.bin", Body=b"\0" * (N * 4))
    frepo = frazil.Repository.open(_frazil_storage(kw, "crepo"),
                                 authorize_virtual_chunk_access={prefix: _frazil_creds()})
    with pytest.raises(frazil.StorageError) as e:
        zarr.open_array(frepo.readonly_session("main").store, path="v")[:]
    assert e.value.kind == "virtual-chunk-modified"
    with pytest.raises(Exception):
        zarr.open_array(repo.readonly_session("main").store, path="v")[:]


@pytest.mark.parametrize("tail", ["data/../data-production/x.bin",
                                  "data/%2e%2e/data-production/x.bin",
                                  "data/./../data-production/x.bin"])
def test_dot_segments_cannot_escape_an_s3_container(s3_bucket_kwargs, tail):
    """Only ``s3://bucket/data/`` is configured and authorized: an object beside it
    (``data-production/``) is never read through a ``..`` ref, by either library."""
    kw = s3_bucket_kwargs
    prefix, _, _ = _blob(kw)
    s3 = boto3.client("s3", endpoint_url=kw["endpoint_url"], region_name=kw["region"],
                      aws_access_key_id="x", aws_secret_access_key="x")
    s3.put_object(Bucket=kw["bucket"], Key="data-production/x.bin", Body=b"PRODUCTION")
    location = f"s3://{kw['bucket']}/{tail}"
    for lib, storage, creds in (
            (icechunk, _ic_storage(kw, f"ice-{len(tail)}"), _ic_auth(prefix)),
            (frazil, _frazil_storage(kw, f"frz-{len(tail)}"),
             frazil.containers_credentials({prefix: _frazil_creds()}))):
        store_kw = _store_kw(kw)
        cfg = lib.RepositoryConfig.default()
        cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(
            prefix, (icechunk.s3_store if lib is icechunk else frazil_s3.s3_store)(**store_kw)))
        repo = lib.Repository.create(storage, config=cfg, authorize_virtual_chunk_access=creds)
        s = repo.writable_session("main")
        arr = zarr.create_array(s.store, name="v", shape=(4,), chunks=(4,), dtype="u1",
                                compressors=None, fill_value=0)
        s.store.set_virtual_ref("v/c/0", location, offset=0, length=4, validate_container=False)
        with pytest.raises(ValueError, match="no virtual chunk container can handle"):
            arr[:]
