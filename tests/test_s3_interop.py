"""frazil-s3 against the real icechunk 2.3 on one S3 API (moto server on 127.0.0.1).

icechunk writes and frazil reads, frazil writes and icechunk reads, both commit
alternately to one repository; and four processes commit concurrently to one
branch through frazil-s3 without losing a commit.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import zarr
from _interop_support import load_lib

pytestmark = pytest.mark.interop


def _storage(lib, kwargs, prefix):
    return lib.s3_storage(prefix=prefix, **kwargs) if lib.__name__ == "icechunk" else \
        __import__("frazil_s3").s3_storage(prefix=prefix, **kwargs)


def _write(lib, kwargs, prefix, seed, create=False):
    storage = _storage(lib, kwargs, prefix)
    repo = lib.Repository.create(storage) if create else lib.Repository.open(storage)
    session = repo.writable_session("main")
    data = np.random.default_rng(seed).random((64, 64))
    if create:
        root = zarr.group(session.store)
        root.attrs["made_by"] = lib.__name__
        arr = root.create_array("x", shape=(64, 64), chunks=(16, 16), dtype="f8")
    else:
        arr = zarr.open_array(session.store, path="x")
    arr[:] = data
    snap = session.commit(f"{lib.__name__} seed {seed}")
    return snap, data


def _read(lib, kwargs, prefix, snapshot_id=None):
    repo = lib.Repository.open(_storage(lib, kwargs, prefix))
    session = repo.readonly_session(snapshot_id=snapshot_id) if snapshot_id else \
        repo.readonly_session(branch="main")
    return zarr.open_array(session.store, path="x", mode="r")[:], repo


@pytest.mark.parametrize("writer,reader", [("icechunk", "frazil"), ("frazil", "icechunk")])
def test_one_writes_other_reads(s3_bucket_kwargs, writer, reader):
    w, r = load_lib(writer), load_lib(reader)
    snap, data = _write(w, s3_bucket_kwargs, "one", 1, create=True)
    got, repo = _read(r, s3_bucket_kwargs, "one")
    np.testing.assert_array_equal(got, data)
    assert [s.id for s in repo.ancestry(branch="main")][0] == snap


def test_alternating_commits(s3_bucket_kwargs):
    libs = [load_lib("icechunk"), load_lib("frazil")]
    history = []
    for i in range(6):
        lib = libs[i % 2]
        history.append(_write(lib, s3_bucket_kwargs, "alt", i, create=(i == 0)))
    for lib in libs:
        for snap, data in history:
            got, repo = _read(lib, s3_bucket_kwargs, "alt", snap)
            np.testing.assert_array_equal(got, data)
        msgs = [s.message for s in repo.ancestry(branch="main")]
        assert msgs[:6] == [f"{libs[i % 2].__name__} seed {i}" for i in reversed(range(6))]


def test_four_processes_fifteen_commits_each(s3_bucket_kwargs):
    from _s3_commit_worker import commit_many

    frazil = load_lib("frazil")
    from frazil_s3 import s3_storage

    workers, commits = 4, 15
    repo = frazil.Repository.create(s3_storage(prefix="conc", **s3_bucket_kwargs))
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    for w in range(workers):
        root.create_array(f"w{w}", shape=(commits,), chunks=(1,), dtype="i8", fill_value=-1)
    session.commit("setup")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        results = [pool.apply_async(commit_many, (s3_bucket_kwargs, "conc", w, commits))
                   for w in range(workers)]
        conflicts = [r.get(timeout=600) for r in results]
    fresh = frazil.Repository.open(s3_storage(prefix="conc", **s3_bucket_kwargs))
    messages = [s.message for s in fresh.ancestry(branch="main")]
    expected = {f"worker {w} commit {i}" for w in range(workers) for i in range(commits)}
    assert expected <= set(messages) and len(messages) == workers * commits + 2
    ro = fresh.readonly_session(branch="main")
    for w in range(workers):
        values = zarr.open_array(ro.store, path=f"w{w}", mode="r")[:]
        assert values.tolist() == [w * 1000 + i for i in range(commits)]
    assert sum(conflicts) >= 0
    # icechunk agrees
    ic = load_lib("icechunk")
    irepo = ic.Repository.open(ic.s3_storage(prefix="conc", **s3_bucket_kwargs))
    assert len(list(irepo.ancestry(branch="main"))) == workers * commits + 2
