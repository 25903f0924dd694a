"""Virtual chunk API: containers in the config, set_virtual_ref(s)(_arr), checksums,
columnar batches, and interop with icechunk in both directions."""

from __future__ import annotations

import datetime as dt
import os
import warnings

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil.format.codec import decode_repo_info


@pytest.fixture(params=[2, 1], ids=["spec2", "spec1"])
def spec_version(request):
    """Repositories of the virtual-ref tests are created in both spec versions."""
    return request.param


def _data(tmp_path, n=40):
    d = tmp_path / "data"
    d.mkdir()
    values = np.arange(n, dtype="<i4")
    (d / "blob.bin").write_bytes(values.tobytes())
    return d, values


def _repo(tmp_path, d, **kw):
    prefix = f"file://{d}/"
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix,
                                                             ic.local_filesystem_store(str(d))))
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "repo")), config=cfg,
                                authorize_virtual_chunk_access={prefix: None}, **kw)
    return repo, prefix


def _array(s, n=40, chunk=10, shape=None):
    return zarr.create_array(s.store, name="v", shape=shape or (n,), chunks=(chunk,) *
                             len(shape or (n,)), dtype="<i4", compressors=None, fill_value=-1)


def test_container_requires_trailing_slash():
    with pytest.raises(ic.InvalidInputError, match="must end in a /"):
        ic.VirtualChunkContainer("file:///data", ic.local_filesystem_store("/data"))


def test_config_containers_round_trip_and_match_icechunk(tmp_path):
    icechunk = pytest.importorskip("icechunk")
    cfg = ic.RepositoryConfig.default()
    assert cfg.virtual_chunk_containers is None
    c = ic.VirtualChunkContainer("file:///d/", ic.local_filesystem_store("/d"))
    cfg.set_virtual_chunk_container(c)
    assert cfg.get_virtual_chunk_container("file:///d/") == c
    assert list(cfg.virtual_chunk_containers) == ["file:///d/"]
    ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "f")), config=cfg)
    icfg = icechunk.RepositoryConfig.default()
    icfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        "file:///d/", icechunk.local_filesystem_store("/d")))
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "i")),
                               config=icfg)
    mine = decode_repo_info((tmp_path / "f" / "repo").read_bytes()).config
    theirs = decode_repo_info((tmp_path / "i" / "repo").read_bytes()).config
    assert mine["virtual_chunk_containers"] == theirs["virtual_chunk_containers"]
    # icechunk sees frazil's container, frazil sees icechunk's
    irepo = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "f")))
    assert list(irepo.config.virtual_chunk_containers) == ["file:///d/"]
    frepo = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "i")))
    assert frepo.config.get_virtual_chunk_container("file:///d/") == c
    cfg.clear_virtual_chunk_containers()
    assert cfg.virtual_chunk_containers == {}


def test_set_virtual_ref_and_chunk_type(tmp_path, spec_version):
    d, values = _data(tmp_path)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    s = repo.writable_session("main")
    _array(s)
    for i in range(4):
        s.store.set_virtual_ref(f"v/c/{i}", f"{prefix}blob.bin", offset=40 * i, length=40)
    with pytest.raises(ic.InvalidInputError) as e:
        s.store.set_virtual_ref("v/c/0", "file:///elsewhere/x.bin", offset=0, length=4)
    assert e.value.kind == "no-container-for-virtual-chunk"
    s.store.set_virtual_ref("v/c/0", "file:///elsewhere/x.bin", offset=0, length=4,
                            validate_container=False)
    s.store.set_virtual_ref("v/c/0", f"{prefix}blob.bin", offset=0, length=40)
    assert s.chunk_type("v", [0]) == ic.ChunkType.virtual
    assert s.all_virtual_chunk_locations() == [f"{prefix}blob.bin"] * 4
    s.commit("refs")
    r = repo.readonly_session("main")
    assert r.chunk_type("/v", (1,)) == ic.ChunkType.virtual
    np.testing.assert_array_equal(zarr.open_array(r.store, path="v", mode="r")[:], values)


def test_set_virtual_refs_returns_failed_indices(tmp_path, spec_version):
    d, values = _data(tmp_path)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    s = repo.writable_session("main")
    _array(s)
    specs = [ic.VirtualChunkSpec([i], f"{prefix}blob.bin", 40 * i, 40) for i in range(4)]
    specs.append(ic.VirtualChunkSpec([3], "file:///nope/x.bin", 0, 40))
    assert s.store.set_virtual_refs("v", specs) == [(3,)]
    s.commit("refs")
    arr = zarr.open_array(repo.readonly_session("main").store, path="v", mode="r")
    np.testing.assert_array_equal(arr[:], values)


def test_set_virtual_refs_arr_columnar_with_overrides(tmp_path, spec_version):
    d, values = _data(tmp_path, 64)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    s = repo.writable_session("main")
    _array(s, shape=(8, 8), chunk=1)
    loc = f"{prefix}blob.bin"
    offs = np.arange(64, dtype=np.uint64) * 4
    locs = [loc] * 64
    locs[5] = ""  # missing chunk
    locs[6] = "file:///nope/x"  # no container
    assert s.store.set_virtual_refs_arr("v", (8, 8), locs, offs, np.full(64, 4, np.uint64)) \
        == [(0, 6)]
    assert not s._changes.chunks  # columnar, no per-ref entries
    assert s.chunk_type("v", [0, 5]) == ic.ChunkType.uninitialized
    # a later per-chunk write overrides the batch ...
    zarr.open_array(s.store, path="v")[0, 1] = 1000
    # ... and a later batch overrides earlier per-chunk writes it covers
    zarr.open_array(s.store, path="v")[7, 7] = 2000
    s.store.set_virtual_refs_arr("v", (1, 2), [loc, loc], np.array([0, 4], np.uint64),
                                 np.array([4, 4], np.uint64), arr_offset=(7, 6))
    expect = values.reshape(8, 8).copy()
    expect[0, 1] = 1000
    expect[0, 5] = expect[0, 6] = -1
    expect[7, 6:8] = values[0:2]
    arr = zarr.open_array(s.store, path="v", mode="r")
    np.testing.assert_array_equal(arr[:], expect)
    s.commit("batch")
    r = repo.readonly_session("main")
    np.testing.assert_array_equal(zarr.open_array(r.store, path="v", mode="r")[:], expect)
    assert len(_coords(r, "v")) == 62


def test_checksum_mismatch_is_an_error_not_stale_data(tmp_path, spec_version):
    d, values = _data(tmp_path)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    mtime = os.stat(d / "blob.bin").st_mtime
    s = repo.writable_session("main")
    _array(s)
    loc = f"{prefix}blob.bin"
    s.store.set_virtual_ref("v/c/0", loc, offset=0, length=40,
                            checksum=dt.datetime.fromtimestamp(mtime + 100, dt.timezone.utc))
    s.store.set_virtual_ref("v/c/1", loc, offset=40, length=40,
                            checksum=dt.datetime.fromtimestamp(mtime - 100, dt.timezone.utc))
    s.store.set_virtual_ref("v/c/2", loc, offset=80, length=40, checksum="not-the-etag")
    s.commit("c")
    arr = zarr.open_array(repo.readonly_session("main").store, path="v", mode="r")
    np.testing.assert_array_equal(arr[0:10], values[0:10])
    for sl in (slice(10, 20), slice(20, 30)):
        with pytest.raises(ic.StorageError) as e:
            arr[sl]
        assert e.value.kind == "virtual-chunk-modified"


def _icechunk_repo(icechunk, tmp_path, d, prefix, **cfgkw):
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.local_filesystem_store(str(d))))
    for k, v in cfgkw.items():
        setattr(cfg, k, v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "repo")),
                                        authorize_virtual_chunk_access={prefix: None})


def test_frazil_written_virtual_refs_read_by_icechunk(tmp_path, spec_version):
    icechunk = pytest.importorskip("icechunk")
    d, values = _data(tmp_path, 64)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    s = repo.writable_session("main")
    _array(s, shape=(8, 8), chunk=1)
    loc = f"{prefix}blob.bin"
    mtime = os.stat(d / "blob.bin").st_mtime
    s.store.set_virtual_refs_arr("v", (8, 8), [loc] * 64, np.arange(64, dtype=np.uint64) * 4,
                                 np.full(64, 4, np.uint64),
                                 checksum=dt.datetime.fromtimestamp(mtime + 5, dt.timezone.utc))
    s.store.set_virtual_ref("v/c/0/0", loc, offset=4, length=4)
    s.commit("frazil virtual")
    irepo = _icechunk_repo(icechunk, tmp_path, d, prefix)
    assert list(irepo.config.virtual_chunk_containers) == [prefix]
    isess = irepo.readonly_session(branch="main")
    expect = values.reshape(8, 8).copy()
    expect[0, 0] = values[1]
    np.testing.assert_array_equal(zarr.open_array(isess.store, path="v", mode="r")[:], expect)
    assert isess.all_virtual_chunk_locations() == [loc] * 64


def test_icechunk_written_virtual_refs_with_checksums_read_by_frazil(tmp_path, spec_version):
    icechunk = pytest.importorskip("icechunk")
    d, values = _data(tmp_path, 64)
    prefix = f"file://{d}/"
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.local_filesystem_store(str(d))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        irepo = icechunk.Repository.create(
            icechunk.local_filesystem_storage(str(tmp_path / "repo")), config=cfg,
            authorize_virtual_chunk_access={prefix: None}, spec_version=spec_version)
    s = irepo.writable_session("main")
    _array(s, shape=(64,), chunk=1)
    mtime = os.stat(d / "blob.bin").st_mtime
    loc = f"{prefix}blob.bin"
    s.store.set_virtual_refs_arr("v", (64,), [loc] * 64, np.arange(64, dtype=np.uint64) * 4,
                                 np.full(64, 4, np.uint64),
                                 checksum=dt.datetime.fromtimestamp(mtime + 5, dt.timezone.utc))
    s.commit("icechunk virtual")
    frepo = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo")),
                               authorize_virtual_chunk_access={prefix: None})
    assert list(frepo.config.virtual_chunk_containers) == [prefix]
    r = frepo.readonly_session("main")
    np.testing.assert_array_equal(zarr.open_array(r.store, path="v", mode="r")[:], values)
    assert r.all_virtual_chunk_locations() == [loc] * 64
    # touching the file later makes both refuse the chunks
    os.utime(d / "blob.bin", (mtime + 1000, mtime + 1000))
    r = frepo.readonly_session("main")
    with pytest.raises(ic.StorageError):
        zarr.open_array(r.store, path="v", mode="r")[:]


def test_single_batch_commit_fast_path(tmp_path, spec_version):
    d, values = _data(tmp_path, 64)
    repo, prefix = _repo(tmp_path, d, spec_version=spec_version)
    s = repo.writable_session("main")
    _array(s, shape=(8, 8), chunk=1)
    s.store.set_virtual_refs_arr("v", (4, 8), [f"{prefix}blob.bin"] * 32,
                                 np.arange(32, 64, dtype=np.uint64) * 4,
                                 np.full(32, 4, np.uint64), arr_offset=(4, 0))
    s.commit("one batch")
    arr = zarr.open_array(repo.readonly_session("main").store, path="v", mode="r")
    expect = np.full((8, 8), -1, "<i4")
    expect[4:] = values[32:].reshape(4, 8)
    np.testing.assert_array_equal(arr[:], expect)


def _coords(session, path):
    """Every chunk index of ``path``, through icechunk's async ``chunk_coordinates``."""
    import asyncio

    async def go():
        return [c async for c in session.chunk_coordinates(path)]
    return asyncio.run(go())
