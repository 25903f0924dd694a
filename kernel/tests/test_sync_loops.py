"""Sync facades run on the calling thread's own event loop (frazil._sync).

What this must keep: results and errors as before, calls from any number of
threads at once, calls from inside a running loop (they go to the shared
background loop), loops closed when their thread ends, and a fork that leaves
the parent's loops working.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import threading

import frazil as ic
import pytest
import zarr
from frazil import _sync


def _repo(tmp_path, name="r"):
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / name)))
    s = repo.writable_session("main")
    # 64 chunks of 8 KiB: chunk files, read through the local I/O pool (a wake-up of
    # the calling thread's loop from a pool thread per read)
    zarr.group(s.store).create_array("x", shape=(65536,), chunks=(1024,), dtype="f8")[:] = 3.0
    s.commit("data")
    return repo


def _read_all(repo) -> float:
    arr = zarr.open_array(repo.readonly_session("main").store, path="x", mode="r")
    return float(arr[:].sum())


def test_each_thread_runs_its_calls_on_its_own_loop():
    loops = {}

    async def which():
        return asyncio.get_running_loop()

    def worker(i):
        loops[i] = (_sync.sync(which()), _sync.sync(which()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    firsts = [a for a, _ in loops.values()]
    assert all(a is b for a, b in loops.values())  # reused call after call
    assert len({id(a) for a in firsts}) == 4  # one per thread
    assert _sync._loop is None or all(a is not _sync._loop for a in firsts)


def test_errors_propagate_and_the_loop_stays_usable():
    async def boom():
        raise ic.IcechunkError("boom")

    async def ok():
        return 7

    with pytest.raises(ic.IcechunkError, match="boom"):
        _sync.sync(boom())
    assert _sync.sync(ok()) == 7


def test_many_threads_share_one_repository(tmp_path):
    repo = _repo(tmp_path)
    results, errors = [], []

    def worker(i):
        try:
            repo.create_branch(f"b{i}", repo.lookup_branch("main"))
            results.append(_read_all(repo))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert results == [3.0 * 65536] * 8
    assert {f"b{i}" for i in range(8)} <= set(repo.list_branches())


def test_sync_call_from_inside_a_running_loop_uses_the_background_loop(tmp_path):
    repo = _repo(tmp_path)

    async def main():
        here = asyncio.get_running_loop()
        # a sync facade called from a coroutine (as from a notebook cell)
        branches = repo.list_branches()

        async def where():
            return asyncio.get_running_loop()

        there = _sync.sync(where())
        return branches, here, there

    branches, here, there = asyncio.run(main())
    assert branches == {"main"}
    assert there is not here and there is _sync._loop


def test_a_finished_thread_closes_its_loop(tmp_path):
    repo = _repo(tmp_path)
    seen = []

    def worker():
        _read_all(repo)
        seen.append(_sync._local.runner.loop)

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen and seen[0].is_closed()
    before = fds()
    for _ in range(20):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert fds() <= before + 2  # no loop (epoll + wake-up sockets) left behind per thread


def _child_reads(path: str) -> float:
    return _read_all(ic.Repository.open(ic.local_filesystem_storage(path)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_leaves_the_parents_thread_loops_working(tmp_path):
    """A forked child drops the other threads' locals; if that closed their loops, it
    would unregister the parent's wake-up sockets from the shared epoll instance and
    the parent's next pool read on that thread would wait forever."""
    _repo(tmp_path)
    path = str(tmp_path / "r")
    storage = ic.local_filesystem_storage(path)
    go, done = threading.Event(), threading.Event()
    out = []

    def listed() -> int:
        # listing runs on the local I/O pool: the pool thread wakes this thread's loop
        return len(storage.list_objects(None, "snapshots/"))

    def worker():
        out.append(listed())  # this thread's loop exists before the fork
        go.wait(60)
        out.append(listed())  # after the fork: needs its loop's wake-ups
        done.set()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    while not out:
        threading.Event().wait(0.01)
    assert listed() == 2  # and the main thread's loop too (two snapshots)
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_child_reads, (path,)).get(timeout=60) == 3.0 * 65536
    go.set()
    assert done.wait(30), "the parent's thread loop stopped waking up after a fork"
    assert out == [2, 2]
    assert listed() == 2
