"""Child process of test_admin_interop's race test: commits while GC runs."""

from __future__ import annotations

import importlib
import time


def open_storage(lib, where: str | dict):
    """A local path, or ``s3_storage`` keyword arguments (with ``prefix``)."""
    if isinstance(where, str):
        return lib.local_filesystem_storage(where)
    return lib.s3_storage(**where)


def commit_loop(lib_name: str, path: str | dict, commits: int, start_at: float
                ) -> tuple[list[str], float]:
    """Commit ``commits`` times to ``main``: each writes one new chunk and rewrites chunk 0.

    Returns the snapshot ids committed, oldest first, and the longest time one
    commit took from its first chunk write to its return (the grace period a
    concurrent garbage collection must exceed).
    """
    import zarr

    lib = importlib.import_module(lib_name)
    if hasattr(lib, "set_logs_filter"):
        lib.set_logs_filter("error")
    repo = lib.Repository.open(open_storage(lib, path))
    time.sleep(max(0.0, start_at - time.time()))
    ids = []
    longest = 0.0
    for i in range(1, commits + 1):
        session = repo.writable_session("main")
        arr = zarr.open_array(session.store, path="data", mode="r+")
        t0 = time.monotonic()
        arr[0:100] = i  # chunk 0 rewritten: the old version becomes garbage
        arr[100 * i:100 * (i + 1)] = i  # a new chunk, kept forever by the tip
        ids.append(session.commit(f"c{i}"))
        longest = max(longest, time.monotonic() - t0)
        time.sleep(0.1)
    return ids, longest
