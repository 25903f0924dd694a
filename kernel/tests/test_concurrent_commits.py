"""Several processes commit to one branch of a local repository at once.

icechunk's own local storage loses commits under this load; floe's local
storage makes conditional create/update atomic across processes, so with a
retry on ``ConflictError`` every commit lands and every write is visible.
"""

from __future__ import annotations

import multiprocessing as mp
import os

import numpy as np
import pytest
import zarr

import floe as ic

PROCS = 4


def _worker(path: str, proc: int, commits: int) -> int:
    repo = ic.Repository.open(ic.local_filesystem_storage(path))
    retries = 0
    for i in range(commits):
        while True:
            s = repo.writable_session("main")
            arr = zarr.open_array(s.store, path="grid", mode="r+")
            arr[proc, i] = proc * 1000 + i
            try:
                s.commit(f"p{proc} c{i}")
                break
            except ic.ConflictError:
                retries += 1
    return retries


def _run(path: str, commits: int) -> None:
    repo = ic.Repository.create(ic.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="grid", shape=(PROCS, commits), chunks=(1, 1),
                      dtype="i4", fill_value=-1)
    s.commit("setup")
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCS) as pool:
        pool.starmap(_worker, [(path, p, commits) for p in range(PROCS)])
    repo = ic.Repository.open(ic.local_filesystem_storage(path))
    messages = [h.message for h in repo.ancestry(branch="main")]
    assert len(messages) == PROCS * commits + 2
    assert sorted(m for m in messages if m.startswith("p")) == sorted(
        f"p{p} c{i}" for p in range(PROCS) for i in range(commits))
    grid = zarr.open_array(repo.readonly_session(branch="main").store, path="grid", mode="r")[:]
    expected = np.array([[p * 1000 + i for i in range(commits)] for p in range(PROCS)])
    np.testing.assert_array_equal(grid, expected)
    # nothing half-written is left where icechunk would list it
    staging = os.path.join(path, ".floe-staging")
    assert not os.path.isdir(staging) or not os.listdir(staging)


def test_four_processes_commit_without_losses(tmp_path):
    _run(str(tmp_path / "repo"), commits=int(os.environ.get("FLOE_STRESS_COMMITS", "15")))


@pytest.mark.slow
def test_four_processes_many_commits(tmp_path):
    _run(str(tmp_path / "repo"), commits=60)
