"""floe repositories on SQLite: concurrent commits from processes, copy to local disk."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os

import icechunk
import numpy as np
import zarr

import floe
from floe.storage import LocalFileSystemStorage
from floe_sqlite import sqlite_storage

PROCS = 4


def _worker(db: str, proc: int, commits: int) -> int:
    repo = floe.Repository.open(sqlite_storage(db))
    retries = 0
    for i in range(commits):
        while True:
            s = repo.writable_session("main")
            arr = zarr.open_array(s.store, path="grid", mode="r+")
            arr[proc, i] = proc * 1000 + i
            try:
                s.commit(f"p{proc} c{i}")
                break
            except floe.ConflictError:
                retries += 1
    return retries


def test_four_processes_commit_to_one_sqlite_file(tmp_path):
    db = str(tmp_path / "repo.db")
    commits = int(os.environ.get("FLOE_STRESS_COMMITS", "15"))
    repo = floe.Repository.create(sqlite_storage(db))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="grid", shape=(PROCS, commits), chunks=(1, 1), dtype="i4",
                      fill_value=-1)
    s.commit("setup")
    with mp.get_context("spawn").Pool(PROCS) as pool:
        pool.starmap(_worker, [(db, p, commits) for p in range(PROCS)])
    repo = floe.Repository.open(sqlite_storage(db))
    messages = [h.message for h in repo.ancestry(branch="main")]
    assert len(messages) == PROCS * commits + 2
    assert sorted(m for m in messages if m.startswith("p")) == sorted(
        f"p{p} c{i}" for p in range(PROCS) for i in range(commits))
    grid = zarr.open_array(repo.readonly_session(branch="main").store, path="grid", mode="r")[:]
    np.testing.assert_array_equal(
        grid, [[p * 1000 + i for i in range(commits)] for p in range(PROCS)])


async def _copy(src, dst) -> int:
    objs = await src.list_objects("")
    for o in objs:
        await dst.put_object(o.path, await src.get_object(o.path))
    return len(objs)


def _read_all(lib, path: str) -> dict:
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    out = {"branches": sorted(repo.list_branches()), "tags": sorted(repo.list_tags()),
           "history": [h.message for h in repo.ancestry(branch="main")]}
    root = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    out["arrays"] = {k: root[k][:].tolist() for k in sorted(root.array_keys())}
    out["attrs"] = dict(root.attrs)
    return out


def test_copy_to_local_reads_back_identically(tmp_path):
    db = tmp_path / "repo.db"
    repo = floe.Repository.create(sqlite_storage(db))
    s = repo.writable_session("main")
    root = zarr.group(s.store, attributes={"title": "sqlite"})
    root.create_array("a", shape=(6, 4), chunks=(2, 2), dtype="f8", fill_value=np.nan)[:] = (
        np.arange(24.0).reshape(6, 4))
    root.create_array("tiny", shape=(3,), chunks=(3,), dtype="i2")[:] = [1, 2, 3]  # inline
    first = s.commit("first")
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[0, :] = -1
    s.commit("second")
    repo.create_tag("v1", first)
    local = tmp_path / "local"
    n = asyncio.run(_copy(sqlite_storage(db), LocalFileSystemStorage(str(local))))
    assert n > 5
    from_floe = _read_all(floe, str(local))
    from_icechunk = _read_all(icechunk, str(local))
    assert from_floe == from_icechunk
    assert from_floe["history"][:2] == ["second", "first"] and from_floe["tags"] == ["v1"]
    assert from_floe["arrays"]["tiny"] == [1, 2, 3]
