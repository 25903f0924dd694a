"""Several processes commit to one branch at once; rebase makes every commit land."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import frazil as ic
import numpy as np
import pytest
import zarr
from _rebase_worker import write_commits


def run(path: Path, processes: int, commits: int) -> int:
    repo = ic.Repository.create(ic.local_filesystem_storage(str(path)))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="data", shape=(processes, 2 * commits), chunks=(1, 2),
                      dtype="i4", fill_value=0)
    s.commit("init")
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 2.0
    with ctx.Pool(processes) as pool:
        rebases = pool.starmap(write_commits, [(str(path), w, commits, start_at)
                                               for w in range(processes)])
    repo = ic.Repository.open(ic.local_filesystem_storage(str(path)))
    data = zarr.open_array(repo.readonly_session("main").store, path="data", mode="r")[:]
    expected = np.array([[w * 1000 + i // 2 + 1 for i in range(2 * commits)]
                         for w in range(processes)])
    np.testing.assert_array_equal(data, expected)
    history = list(repo.ancestry(branch="main"))
    messages = [h.message for h in history]
    assert len(history) == processes * commits + 2
    assert set(messages[:-2]) == {f"w{w} c{i}" for w in range(processes) for i in range(commits)}
    for w in range(processes):  # each worker's commits in its own order
        assert [m for m in reversed(messages) if m.startswith(f"w{w} ")] == \
            [f"w{w} c{i}" for i in range(commits)]
    # icechunk reads the result too
    import icechunk

    irepo = icechunk.Repository.open(icechunk.local_filesystem_storage(str(path)))
    idata = zarr.open_array(irepo.readonly_session("main").store, path="data", mode="r")[:]
    np.testing.assert_array_equal(idata, expected)
    return sum(rebases)


def test_rebase_stress_4x15(tmp_path: Path) -> None:
    assert run(tmp_path / "repo", processes=4, commits=15) > 0  # rebases happened


@pytest.mark.slow
def test_rebase_stress_8x40(tmp_path: Path) -> None:
    run(tmp_path / "repo", processes=8, commits=40)
