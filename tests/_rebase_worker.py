"""Child process of test_rebase_stress: commits to one branch with rebase_with."""

from __future__ import annotations

import time


def write_commits(path: str, worker: int, commits: int, start_at: float) -> int:
    import frazil as ic
    import zarr

    repo = ic.Repository.open(ic.local_filesystem_storage(path))
    time.sleep(max(0.0, start_at - time.time()))
    rebased = 0
    for i in range(commits):
        session = repo.writable_session("main")
        arr = zarr.open_array(session.store, path="data", mode="r+")
        arr[worker, 2 * i: 2 * i + 2] = worker * 1000 + i + 1
        session.commit(f"w{worker} c{i}", rebase_with=ic.BasicConflictSolver())
        md = next(iter(repo.ancestry(snapshot_id=session.snapshot_id))).metadata
        rebased += md["__icechunk"]["rebase_attempts"]
    return rebased
