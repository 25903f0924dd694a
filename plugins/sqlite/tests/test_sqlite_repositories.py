"""frazil repositories on SQLite: concurrent commits from processes, copy to local disk."""

from __future__ import annotations

import asyncio
import os

import frazil
import icechunk
import numpy as np
import zarr
from frazil.storage import LocalFileSystemStorage
from frazil.testing import check_concurrent_commits
from frazil_sqlite import sqlite_storage


def test_four_processes_commit_to_one_sqlite_file(tmp_path):
    commits = int(os.environ.get("FRAZIL_STRESS_COMMITS", "15"))
    check_concurrent_commits(sqlite_storage(str(tmp_path / "repo.db")), commits=commits)


async def _copy(src, dst) -> int:
    objs = await src.list_objects_async("")
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
    repo = frazil.Repository.create(sqlite_storage(db))
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
    from_frazil = _read_all(frazil, str(local))
    from_icechunk = _read_all(icechunk, str(local))
    assert from_frazil == from_icechunk
    assert from_frazil["history"][:2] == ["second", "first"] and from_frazil["tags"] == ["v1"]
    assert from_frazil["arrays"]["tiny"] == [1, 2, 3]
