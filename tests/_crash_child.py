"""Child process for test_crash_safety: commits in a loop until it is SIGKILLed.

usage: python _crash_child.py LIB REPO_PATH PROGRESS_FILE

Every commit ``i`` rewrites the whole ``data`` array with values derived from
``i`` (incompressible, so every chunk is a separate chunk object), records
``i`` in the array's attributes and in the commit metadata, and adds one small
array ``hist/n{i}``. After each commit it appends ``COMMITTED i snapshot_id``
to PROGRESS_FILE. On start it continues after the last committed ``i``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

import numpy as np
import zarr

SHAPE = (256, 1024)  # float32, 64 chunks of 16 KiB
CHUNKS = (4, 1024)
MAX_SECONDS = 120  # safety net: never outlive a forgotten test


def expected_data(i: int) -> np.ndarray:
    return np.random.default_rng(i).random(SHAPE, dtype=np.float32)


def main() -> None:
    lib_name, path, progress = sys.argv[1], sys.argv[2], sys.argv[3]
    lib = importlib.import_module(lib_name)
    if hasattr(lib, "set_logs_filter"):
        lib.set_logs_filter("error")
    storage = lib.local_filesystem_storage(path)
    if os.path.exists(os.path.join(path, "repo")):
        repo = lib.Repository.open(storage)
        s = repo.readonly_session(branch="main")
        root = zarr.open_group(s.store, mode="r")
        i = int(root["data"].attrs.get("i", -1)) + 1
    else:
        repo = lib.Repository.create(storage)
        s = repo.writable_session("main")
        root = zarr.open_group(s.store, mode="w")
        root.create_array("data", shape=SHAPE, chunks=CHUNKS, dtype="float32", fill_value=0.0)
        root.create_group("hist")
        s.commit("setup", metadata={"i": -1})
        i = 0
    with open(progress, "a") as f:
        f.write(f"READY {i}\n")
    t0 = time.monotonic()
    while time.monotonic() - t0 < MAX_SECONDS:
        s = repo.writable_session("main")
        root = zarr.open_group(s.store, mode="r+")
        arr = root["data"]
        arr[:] = expected_data(i)
        arr.attrs["i"] = i
        root["hist"].create_array(f"n{i}", shape=(1,), chunks=(1,), dtype="int64", fill_value=-1)[0] = i
        sid = s.commit(f"commit {i}", metadata={"i": i})
        with open(progress, "a") as f:
            f.write(f"COMMITTED {i} {sid}\n")
        i += 1


if __name__ == "__main__":
    main()
