"""Child process of test_admin_interop's race test: commits while GC runs."""

from __future__ import annotations

import importlib
import time


def commit_loop(lib_name: str, path: str, commits: int, start_at: float) -> list[str]:
    """Commit ``commits`` times to ``main``: each writes one new chunk and rewrites chunk 0.

    Returns the snapshot ids committed, oldest first.
    """
    import zarr

    lib = importlib.import_module(lib_name)
    if hasattr(lib, "set_logs_filter"):
        lib.set_logs_filter("error")
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    time.sleep(max(0.0, start_at - time.time()))
    ids = []
    for i in range(1, commits + 1):
        session = repo.writable_session("main")
        arr = zarr.open_array(session.store, path="data", mode="r+")
        arr[0:100] = i  # chunk 0 rewritten: the old version becomes garbage
        arr[100 * i:100 * (i + 1)] = i  # a new chunk, kept forever by the tip
        ids.append(session.commit(f"c{i}"))
        time.sleep(0.15)
    return ids
