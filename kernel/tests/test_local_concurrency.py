"""Local storage is safe for concurrent writers in different processes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from pathlib import Path

import frazil as ic
import pytest
from frazil.storage import LocalFileSystemStorage
from frazil.testing._multiprocess import append_to_counter, race_to_create


def run_counter(root: Path, processes: int, iterations: int) -> int:
    storage = LocalFileSystemStorage(root)
    asyncio.run(storage.put_object_if("repo", b"[]", expected=None))
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5  # after every spawned interpreter has started
    with ctx.Pool(processes) as pool:
        retries = pool.starmap(
            append_to_counter,
            [(str(root), "repo", w, iterations, start_at) for w in range(processes)],
        )
    items = json.loads(asyncio.run(storage.get_object("repo")))
    expected = {(w, i) for w in range(processes) for i in range(iterations)}
    assert len(items) == len(expected)
    assert {tuple(x) for x in items} == expected
    # Each worker's appends are in its own order.
    for w in range(processes):
        assert [i for ww, i in items if ww == w] == list(range(iterations))
    leftovers = [n for _, _, files in os.walk(root) for n in files if n.startswith(".frazil-tmp-")]
    assert leftovers == []
    return sum(retries)


def test_multiprocess_read_modify_write(tmp_path: Path) -> None:
    run_counter(tmp_path, processes=4, iterations=25)


@pytest.mark.slow
def test_multiprocess_read_modify_write_soak(tmp_path: Path) -> None:
    run_counter(tmp_path, processes=8, iterations=150)


def test_multiprocess_create_race(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5
    with ctx.Pool(6) as pool:
        won = pool.starmap(race_to_create,
                           [(str(tmp_path), "refs/branch.main", w, start_at) for w in range(6)])
    assert sum(won) == 1
    winner = won.index(True)
    assert (tmp_path / "refs" / "branch.main").read_bytes() == str(winner).encode()


def test_forked_child_writes_after_the_parent_used_the_io_pool(tmp_path):
    """The local I/O thread pool is rebuilt in a forked child (a parent's pool threads do
    not exist there), so a fork-started worker can read and write the same repository."""
    import multiprocessing as mp

    import numpy as np
    import zarr

    path = str(tmp_path / "r")
    repo = ic.Repository.create(ic.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.group(s.store).create_array("x", shape=(4096,), chunks=(1024,), dtype="f8")[:] = 1.0
    s.commit("parent")  # chunk files written through the pool in the parent
    with mp.get_context("fork").Pool(1) as pool:
        snap = pool.apply_async(_child_commit, (path,)).get(timeout=60)
    got = zarr.open_array(ic.Repository.open(ic.local_filesystem_storage(path))
                          .readonly_session(snapshot_id=snap).store, path="x", mode="r")
    np.testing.assert_array_equal(got[:], np.full(4096, 2.0))


def _child_commit(path: str) -> str:
    import zarr

    repo = ic.Repository.open(ic.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="x", mode="r+")[:] = 2.0
    return s.commit("child")
