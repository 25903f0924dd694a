"""frazil quickstart: a versioned Zarr array on local disk.

Run it with `bash .ci/run --quickstart` (makes .venv and installs frazil), or
with any Python that has frazil installed: `python examples/quickstart.py`.

It uses only the icechunk API; replacing the import below with
`import icechunk as ic` gives the same output.
"""

import tempfile

import frazil as ic
import numpy as np
import zarr

with tempfile.TemporaryDirectory() as tmp:
    # 1. a repository on local disk
    repo = ic.Repository.create(ic.local_filesystem_storage(f"{tmp}/repo"))

    # 2. write an array through zarr and commit it to `main`
    session = repo.writable_session("main")
    root = zarr.group(store=session.store)
    temps = root.create_array("temperature", shape=(4, 6), chunks=(2, 3), dtype="float32", fill_value=0.0)
    temps[:] = np.arange(24, dtype="float32").reshape(4, 6)
    temps.attrs["units"] = "degC"
    first = session.commit("add temperature", metadata={"author": "quickstart"})
    print(f"committed {first} on main")

    # 3. a tag for that version and a branch to experiment on
    repo.create_tag("v1", snapshot_id=first)
    repo.create_branch("experiment", snapshot_id=first)

    # 4. change the data on the branch and commit again
    session = repo.writable_session("experiment")
    temps = zarr.open_array(session.store, path="temperature", mode="r+")
    temps[0, :] = -1.0
    second = session.commit("overwrite first row")
    print(f"committed {second} on experiment")

    # 5. read the versions back
    v1 = zarr.open_array(repo.readonly_session(tag="v1").store, path="temperature", mode="r")
    by_id = zarr.open_array(repo.readonly_session(snapshot_id=first).store, path="temperature", mode="r")
    latest = zarr.open_array(repo.readonly_session(branch="experiment").store, path="temperature", mode="r")
    print("v1, first row:        ", v1[0, :])
    print("experiment, first row:", latest[0, :])

    assert np.array_equal(v1[:], np.arange(24, dtype="float32").reshape(4, 6))
    assert np.array_equal(by_id[:], v1[:])
    assert v1.attrs["units"] == "degC"
    assert np.all(latest[0, :] == -1.0) and np.array_equal(latest[1:], v1[1:])
    assert repo.lookup_tag("v1") == first
    assert repo.lookup_branch("main") == first  # main did not move
    assert sorted(repo.list_branches()) == ["experiment", "main"]

    history = [snap.message for snap in repo.ancestry(branch="experiment")]
    print("history of experiment:", history)
    assert history == ["overwrite first row", "add temperature", "Repository initialized"]

print("quickstart OK")
