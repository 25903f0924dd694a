"""Distributed writes on a real process cluster, checked against icechunk 2.3.

One ``distributed.LocalCluster`` (2 worker processes, 1 thread each, on
127.0.0.1, no dashboard) serves the whole module. Sessions, forks and stores
travel to the workers by pickle; every result is read back by the other
library.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import zarr
from _interop_support import load_lib

distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")
cloudpickle = pytest.importorskip("cloudpickle")

pytestmark = pytest.mark.interop

# dashboard off; the scheduler's remaining HTTP routes on a free port, not 8787
_NO_FIXED_PORT = {"dashboard_address": "127.0.0.1:0"}


@pytest.fixture(scope="module")
def client():
    # workers cannot import this test module: send its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       scheduler_kwargs=_NO_FIXED_PORT)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])

def _write_block(fork, i: int):
    """Worker side: write block ``i`` of /a (after the resize) and of /b; return the fork."""
    a = zarr.open_array(fork.store, path="a", mode="a")
    a[8 * i:8 * i + 8] = np.arange(8, dtype="i4") + 100 * (i + 1)
    b = zarr.open_array(fork.store, path="b", mode="a")
    b[2 * i:2 * i + 2] = [i, i]
    return fork


def _handle_settings(session):
    """Worker side: the authorizations and container prefixes the session arrived with."""
    repo = session._repo
    return repo._authorized, sorted(repo.config.virtual_chunk_containers)


def _read(session, path: str):
    return zarr.open_array(session.store, path=path, mode="r")[:]


def test_dirty_session_forks_workers_write_merge_commit(client, repo_path):
    frazil, icechunk = load_lib("frazil"), load_lib("icechunk")
    repo = frazil.Repository.create(frazil.local_filesystem_storage(repo_path))
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=(8,), chunks=(4,), dtype="i4", fill_value=-1)
    a[:] = np.arange(8, dtype="i4")
    first = s.commit("a")
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a").resize((16,))  # workers must see it
    zarr.create_array(s.store, name="b", shape=(4,), chunks=(2,), dtype="i4", fill_value=9)
    sent = [s.fork(), s.fork()]
    assert s.snapshot_id not in {f.snapshot_id for f in sent}  # anonymous bases
    forks = client.gather(client.map(_write_block, sent, [0, 1]))
    assert all(type(f) is frazil.ForkSession for f in forks)
    s.merge(*forks)
    sid = s.commit("two workers")
    expected_a = np.concatenate([np.arange(8) + 100, np.arange(8) + 200])
    theirs = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    ro = theirs.readonly_session("main")
    assert ro.snapshot_id == sid
    assert [x.id for x in theirs.ancestry(branch="main")][:2] == [sid, first]
    np.testing.assert_array_equal(_read(ro, "a"), expected_a)
    np.testing.assert_array_equal(_read(ro, "b"), [0, 0, 1, 1])
    # the forks' anonymous base is in no ref and no repo info list, as icechunk's
    assert sent[0].snapshot_id not in {x.id for x in theirs.ancestry(branch="main")}
    # and the other way: icechunk forks on the same cluster, frazil reads
    ts = theirs.writable_session("main")
    zarr.open_array(ts.store, path="a").resize((24,))
    tforks = client.gather(client.map(_write_block, [ts.fork()], [2]))
    ts.merge(*tforks)
    ts.commit("icechunk worker")
    mine = repo.readonly_session("main")
    np.testing.assert_array_equal(_read(mine, "a"),
                                  np.concatenate([expected_a, np.arange(8) + 300]))


def _dataset(t0: int, nt: int) -> xr.Dataset:
    t = np.arange(t0, t0 + nt)
    data = (t[:, None] * 10 + np.arange(6)[None, :]).astype("f8")
    return xr.Dataset(
        {"temp": (("time", "x"), da.from_array(data, chunks=(2, 3)))},
        coords={"time": t, "x": np.arange(6)}, attrs={"title": "frazil"})


def _write_with(lib, path: str, to_icechunk) -> None:
    repo = lib.Repository.create(lib.local_filesystem_storage(path))
    s = repo.writable_session("main")
    to_icechunk(_dataset(0, 4), s)
    s.commit("initial")
    s = repo.writable_session("main")
    to_icechunk(_dataset(4, 4), s, append_dim="time", split_every=2)
    s.commit("append")


def _open(lib, path: str) -> xr.Dataset:
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    return xr.open_zarr(repo.readonly_session("main").store, consolidated=False).load()


def test_to_icechunk_dask_append_both_directions(client, tmp_path):
    frazil, icechunk = load_lib("frazil"), load_lib("icechunk")
    from frazil.xarray import to_icechunk as frazil_to_icechunk
    from icechunk.xarray import to_icechunk as icechunk_to_icechunk

    _write_with(frazil, str(tmp_path / "f"), frazil_to_icechunk)
    _write_with(icechunk, str(tmp_path / "i"), icechunk_to_icechunk)
    expected = _dataset(0, 8).compute()
    for reader in (icechunk, frazil):
        for path in ("f", "i"):
            xr.testing.assert_identical(_open(reader, str(tmp_path / path)), expected)


def test_distributed_read_and_virtual_chunks_on_workers(client, tmp_path):
    frazil, icechunk = load_lib("frazil"), load_lib("icechunk")
    path = str(tmp_path / "r")
    repo = frazil.Repository.create(frazil.local_filesystem_storage(path))
    s = repo.writable_session("main")
    from frazil.xarray import to_icechunk

    to_icechunk(_dataset(0, 6).compute(), s)
    s.commit("eager")
    means = xr.open_zarr(repo.readonly_session("main").store).mean().compute()  # the call
    assert float(means.temp) == float(_dataset(0, 6).temp.mean().compute())
    # a virtual chunk read on a worker: containers and authorizations travel
    d = tmp_path / "data"
    d.mkdir()
    (d / "blob.bin").write_bytes(np.arange(4, dtype="<i4").tobytes())
    prefix = f"file://{d}/"
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        prefix, frazil.local_filesystem_store(str(d))))
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(
        "s3://bucket/", frazil.s3_store(region="us-east-1")))
    creds = frazil.s3_static_credentials(access_key_id="AK", secret_access_key="SK")
    auth = {prefix: None, "s3://bucket/": creds}
    vrepo = frazil.Repository.create(frazil.local_filesystem_storage(str(tmp_path / "v")),
                                     config=cfg, authorize_virtual_chunk_access=auth)
    vs = vrepo.writable_session("main")
    zarr.create_array(vs.store, name="v", shape=(4,), chunks=(4,), dtype="<i4",
                      compressors=None, fill_value=-1)
    vs.store.set_virtual_ref("v/c/0", f"{prefix}blob.bin", offset=0, length=16)
    vs.commit("virtual")
    got = client.submit(_read, vrepo.readonly_session("main"), "v").result()
    np.testing.assert_array_equal(got, np.arange(4))
    seen = client.submit(_handle_settings, vrepo.readonly_session("main")).result()
    assert seen == (auth, sorted(["s3://bucket/", prefix]))
    assert seen[0]["s3://bucket/"].static.secret_access_key == "SK"
    assert icechunk.Repository.exists(icechunk.local_filesystem_storage(path))
