"""Azure virtual chunks (Azurite) between frazil + frazil-azure and the real icechunk 2.3.

icechunk 2.3 reads ``az://`` / ``abfs://`` / ``azure://`` virtual chunks from
Azurite through ``azure_store(account=..., config={"endpoint": ..., "allow_http":
...})``, so both directions are checked end to end. The container's store
settings are persisted in the repository config as ``{"azure": {"account":
..., <config>}}``; the kernel hands them to frazil-azure's resolver
(``store=``), so the authorization carries only credentials.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import zarr

pytestmark = pytest.mark.interop

icechunk = pytest.importorskip("icechunk")
frazil = pytest.importorskip("frazil")
frazil_azure = pytest.importorskip("frazil_azure")

from frazil_azure.testing import KEY, container_client

N, CHUNK = 64, 8


def _blob(kw, scheme="az"):
    values = np.arange(N, dtype="<i4") * 3 + 1
    cc = container_client(kw["config"]["endpoint"], kw["container"])
    cc.upload_blob("data/blob.bin", values.tobytes(), overwrite=True)
    c = kw["container"]
    return f"{scheme}://{c}/data/", f"{scheme}://{c}/data/blob.bin", values


def _store_args(kw):
    return {"account": kw["account"], "config": dict(kw["config"])}


def _grid_refs(loc):
    n = N // CHUNK
    return [loc] * n, np.arange(n, dtype="u8") * CHUNK * 4, np.full(n, CHUNK * 4, dtype="u8")


def _ic_storage(kw, prefix):
    return icechunk.azure_storage(prefix=prefix, **kw)


def _fz_storage(kw, prefix):
    return frazil_azure.azure_storage(prefix=prefix, **kw)


def _ic_auth(prefix):
    return icechunk.containers_credentials({prefix: icechunk.azure_credentials(access_key=KEY)})


def _fz_auth(prefix):
    return {prefix: frazil_azure.azure_credentials(access_key=KEY)}


def _ic_session(kw, repo_prefix, prefix):
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.storage.azure_store(**_store_args(kw))))
    repo = icechunk.Repository.create(_ic_storage(kw, repo_prefix), config=cfg,
                                      authorize_virtual_chunk_access=_ic_auth(prefix))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    return repo, s


def _read(repo):
    return zarr.open_array(repo.readonly_session("main").store, path="v", mode="r")[:]


def test_icechunk_writes_azure_virtual_refs_frazil_reads(az_container_kwargs):
    kw = az_container_kwargs
    prefix, loc, values = _blob(kw)
    repo, s = _ic_session(kw, "vrepo", prefix)
    assert s.store.set_virtual_refs_arr("v", (N // CHUNK,), *_grid_refs(loc)) is None
    s.commit("icechunk virtual")
    assert np.array_equal(_read(repo), values)

    frepo = frazil.Repository.open(_fz_storage(kw, "vrepo"),
                                   authorize_virtual_chunk_access=_fz_auth(prefix))
    store = frepo.config.virtual_chunk_containers[prefix].store
    assert store.kind == "azure"
    assert store.options == {"account": kw["account"], **kw["config"]}
    assert np.array_equal(_read(frepo), values)


@pytest.mark.parametrize("scheme", ["az", "abfs", "azure"])
def test_frazil_writes_azure_virtual_refs_icechunk_reads(az_container_kwargs, scheme):
    from frazil.format.codec import decode_repo_info

    kw = az_container_kwargs
    prefix, loc, values = _blob(kw, scheme)
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        prefix, frazil_azure.azure_store(**_store_args(kw))))
    repo = frazil.Repository.create(_fz_storage(kw, "vrepo"), config=cfg,
                                    authorize_virtual_chunk_access=_fz_auth(prefix))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    assert s.store.set_virtual_refs_arr("v", (N // CHUNK,), *_grid_refs(loc)) is None
    s.commit("frazil virtual")
    assert np.array_equal(_read(repo), values)

    # the persisted container is exactly what icechunk writes for the same azure_store
    icfg = icechunk.RepositoryConfig.default()
    icfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.storage.azure_store(**_store_args(kw))))
    icechunk.Repository.create(_ic_storage(kw, "icref"), config=icfg)
    cc = container_client(kw["config"]["endpoint"], kw["container"])

    def containers(p):
        raw = cc.download_blob(f"{p}/repo").readall()
        return decode_repo_info(raw).config["virtual_chunk_containers"]

    assert containers("vrepo") == containers("icref")
    irepo = icechunk.Repository.open(_ic_storage(kw, "vrepo"),
                                     authorize_virtual_chunk_access=_ic_auth(prefix))
    assert np.array_equal(_read(irepo), values)


def test_store_dict_reaches_resolver(az_container_kwargs):
    """The persisted endpoint reaches the resolver; an explicit container access overrides it."""
    kw = az_container_kwargs
    prefix, loc, _values = _blob(kw)
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        prefix, frazil_azure.azure_store(**_store_args(kw))))
    repo = frazil.Repository.create(_fz_storage(kw, "r"), config=cfg,
                                    authorize_virtual_chunk_access=_fz_auth(prefix))
    res = repo._virtual.resolver(prefix, loc)
    assert res._az.options.endpoint == kw["config"]["endpoint"]
    other = frazil_azure.azure_store(account="elsewhere",
                                     config={"endpoint": "http://127.0.0.1:1/elsewhere",
                                             "allow_http": "true"})
    repo2 = repo.reopen(authorize_virtual_chunk_access={
        prefix: frazil_azure.azure_container_access(
            other, frazil_azure.azure_credentials(access_key=KEY))})
    assert repo2._virtual.resolver(prefix, loc)._az.options == other


@pytest.mark.parametrize("kind", ["etag", "last_modified"])
def test_checksums_checked_on_read(az_container_kwargs, kind):
    """icechunk stores the blob's etag or last-modified with each ref; frazil verifies it."""
    kw = az_container_kwargs
    prefix, loc, values = _blob(kw)
    cc = container_client(kw["config"]["endpoint"], kw["container"])
    props = cc.get_blob_client("data/blob.bin").get_blob_properties()
    checksum = props.etag if kind == "etag" else props.last_modified + timedelta(seconds=1)
    repo, s = _ic_session(kw, "crepo", prefix)
    for i in range(N // CHUNK):
        s.store.set_virtual_ref(f"v/c/{i}", loc, offset=i * CHUNK * 4, length=CHUNK * 4,
                                checksum=checksum)
    s.commit(f"with {kind}")
    frepo = frazil.Repository.open(_fz_storage(kw, "crepo"),
                                   authorize_virtual_chunk_access=_fz_auth(prefix))
    assert np.array_equal(_read(frepo), values)
    # the blob changes after the recorded checksum: both libraries refuse the stale refs
    if kind == "last_modified":
        import time

        time.sleep(max(0.0, checksum.timestamp() - datetime.now(UTC).timestamp()) + 1.1)
    cc.upload_blob("data/blob.bin", b"\0" * (N * 4), overwrite=True)
    frepo = frazil.Repository.open(_fz_storage(kw, "crepo"),
                                   authorize_virtual_chunk_access=_fz_auth(prefix))
    with pytest.raises(frazil.StorageError) as e:
        _read(frepo)
    assert e.value.kind == "virtual-chunk-modified"
    with pytest.raises(icechunk.IcechunkError):
        _read(repo)


def test_unauthorized_and_wrong_credentials(az_container_kwargs):
    kw = az_container_kwargs
    prefix, loc, _values = _blob(kw)
    _repo, s = _ic_session(kw, "urepo", prefix)
    s.store.set_virtual_refs_arr("v", (N // CHUNK,), *_grid_refs(loc))
    s.commit("refs")
    bad = {prefix: frazil_azure.azure_credentials(
        access_key="d3JvbmcgYnV0IHdlbGwgZm9ybWVkIGtleSBvZiBnb29kIGxlbmd0aCEhIQ==")}
    frepo = frazil.Repository.open(_fz_storage(kw, "urepo"),
                                   authorize_virtual_chunk_access=bad)
    with pytest.raises(frazil.StorageError) as e:
        _read(frepo)
    assert "d3JvbmcgYnV0" not in str(e.value)


def test_icechunk_credential_objects_work_with_frazil(az_container_kwargs):
    """The same authorization mapping serves both libraries (icechunk's objects are read)."""
    kw = az_container_kwargs
    prefix, loc, values = _blob(kw)
    _, s = _ic_session(kw, "irepo", prefix)
    s.store.set_virtual_refs_arr("v", (N // CHUNK,), *_grid_refs(loc))
    s.commit("refs")
    for creds in (icechunk.azure_credentials(access_key=KEY),
                  _ic_auth(prefix)[prefix]):
        frepo = frazil.Repository.open(_fz_storage(kw, "irepo"),
                                       authorize_virtual_chunk_access={prefix: creds})
        assert np.array_equal(_read(frepo), values)
