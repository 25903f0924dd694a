"""A multi-process concurrent-commit check any storage backend can run.

``check_concurrent_commits(storage)`` creates a repository on ``storage``,
starts ``processes`` worker processes (``spawn``) that each commit
``commits`` times to ``main`` (each a different element of one array,
retrying on ``ConflictError``), then asserts that no commit was lost: the
history holds every commit and every write is visible. The storage object is
pickled to the workers, so it must be picklable (every frazil storage is).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

import numpy as np
import zarr

import frazil

__all__ = ["check_concurrent_commits"]


def _worker(storage: Any, proc: int, commits: int, rebase: Any, start_at: float) -> int:
    repo = frazil.Repository.open(storage)
    # start together, so the processes really race (spawn start-up is slow)
    time.sleep(max(0.0, start_at - time.time()))
    retries = 0
    for i in range(commits):
        while True:
            s = repo.writable_session("main")
            zarr.open_array(s.store, path="grid", mode="r+")[proc, i] = proc * 1000 + i
            try:
                if rebase:
                    s.commit(f"p{proc} c{i}", rebase_with=rebase)
                else:
                    s.commit(f"p{proc} c{i}")
                break
            except frazil.ConflictError:
                retries += 1
    return retries


def check_concurrent_commits(storage: Any, *, processes: int = 4, commits: int = 15,
                             rebase: bool = False, solver: Any = None,
                             spec_version: int | None = None) -> int:
    """Run the check on an empty ``storage``; returns how many commits had to retry.

    With ``rebase=True`` the workers commit with ``rebase_with=solver`` (a
    registered solver name or a picklable solver; default ``ConflictDetector()``).
    Their writes touch different chunks, so every rebase must succeed.
    ``spec_version=1`` runs it on a spec-v1 repository (branch refs as objects).
    """
    repo = frazil.Repository.create(storage, spec_version=spec_version)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="grid", shape=(processes, commits), chunks=(1, 1),
                      dtype="i4", fill_value=-1)
    s.commit("setup")
    start_at = time.time() + 3.0
    with mp.get_context("spawn").Pool(processes) as pool:
        how = (solver if solver is not None else frazil.ConflictDetector()) if rebase else None
        retries = sum(pool.starmap(_worker, [(storage, p, commits, how, start_at)
                                             for p in range(processes)]))
    repo = frazil.Repository.open(storage)
    messages = [h.message for h in repo.ancestry(branch="main")]
    assert len(messages) == processes * commits + 2, "commits were lost"
    assert sorted(m for m in messages if m.startswith("p")) == sorted(
        f"p{p} c{i}" for p in range(processes) for i in range(commits))
    grid = zarr.open_array(repo.readonly_session(branch="main").store, path="grid", mode="r")[:]
    np.testing.assert_array_equal(
        grid, [[p * 1000 + i for i in range(commits)] for p in range(processes)])
    return retries
