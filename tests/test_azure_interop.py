"""frazil-azure against the real icechunk 2.3 on one Azure Blob API (Azurite on 127.0.0.1).

One library writes a history (several commits on two branches, tags, an
overwrite, a deleted array) and the other reads every version identically;
both libraries commit alternately to one repository; four processes commit
concurrently to one branch through frazil-azure without losing a commit.
"""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from _interop_support import load_lib

pytestmark = pytest.mark.interop


def _storage(lib, kw, prefix):
    if lib.__name__ == "icechunk":
        return lib.azure_storage(prefix=prefix, **kw)
    from frazil_azure import azure_storage

    return azure_storage(prefix=prefix, **kw)


def _state(store):
    """Everything the history test compares: arrays' values and the root's attributes."""
    root = zarr.open_group(store, mode="r")
    arrays = {name: np.asarray(arr[:]) for name, arr in sorted(root.arrays())}
    return dict(root.attrs), arrays


def _write_history(lib, kw, prefix):
    """Write a history; return ``{snapshot_id: state}`` and ``{ref: snapshot_id}``."""
    rng = np.random.default_rng(7)
    repo = lib.Repository.create(_storage(lib, kw, prefix))
    versions, refs = {}, {}

    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.attrs["made_by"] = lib.__name__
    x = root.create_array("x", shape=(32, 32), chunks=(8, 8), dtype="f8", fill_value=0.0)
    x[:] = rng.random((32, 32))
    root.create_array("gone", shape=(4,), chunks=(2,), dtype="i2")[:] = [1, 2, 3, 4]
    c0 = s.commit("c0")
    versions[c0] = _state(repo.readonly_session(snapshot_id=c0).store)

    s = repo.writable_session("main")
    zarr.open_array(s.store, path="x")[0:8, :] = -1.0
    c1 = s.commit("c1")
    versions[c1] = _state(repo.readonly_session(snapshot_id=c1).store)

    repo.create_branch("dev", snapshot_id=c1)
    repo.create_tag("v1", snapshot_id=c1)
    s = repo.writable_session("dev")
    y = zarr.create_array(s.store, name="y", shape=(10,), chunks=(3,), dtype="i4",
                          fill_value=-7)
    y[2:9] = np.arange(7)
    d1 = s.commit("d1")
    versions[d1] = _state(repo.readonly_session(snapshot_id=d1).store)
    repo.create_tag("v2", snapshot_id=d1)

    s = repo.writable_session("main")
    root = zarr.open_group(s.store)
    root.attrs["step"] = 2
    del root["gone"]
    zarr.open_array(s.store, path="x")[16:, 16:] = 5.5
    c2 = s.commit("c2")
    versions[c2] = _state(repo.readonly_session(snapshot_id=c2).store)
    refs.update({"branch:main": c2, "branch:dev": d1, "tag:v1": c1, "tag:v2": d1})
    return versions, refs


def _check_history(lib, kw, prefix, versions, refs):
    repo = lib.Repository.open(_storage(lib, kw, prefix))
    assert set(repo.list_branches()) == {"main", "dev"}
    assert set(repo.list_tags()) == {"v1", "v2"}
    for ref, snap in refs.items():
        kind, name = ref.split(":")
        assert (repo.lookup_branch(name) if kind == "branch" else repo.lookup_tag(name)) == snap
    for snap, (attrs, arrays) in versions.items():
        got_attrs, got_arrays = _state(repo.readonly_session(snapshot_id=snap).store)
        assert got_attrs == attrs
        assert sorted(got_arrays) == sorted(arrays)
        for name, values in arrays.items():
            np.testing.assert_array_equal(got_arrays[name], values)
    assert [s.message for s in repo.ancestry(branch="main")] == \
        ["c2", "c1", "c0", "Repository initialized"]
    assert [s.message for s in repo.ancestry(tag="v2")][:2] == ["d1", "c1"]


@pytest.mark.parametrize("writer,reader", [("frazil", "icechunk"), ("icechunk", "frazil")])
def test_history_written_by_one_read_by_the_other(az_container_kwargs, writer, reader):
    versions, refs = _write_history(load_lib(writer), az_container_kwargs, "hist")
    _check_history(load_lib(reader), az_container_kwargs, "hist", versions, refs)
    # and the writer agrees with itself
    _check_history(load_lib(writer), az_container_kwargs, "hist", versions, refs)


def test_alternating_commits(az_container_kwargs):
    kw = az_container_kwargs
    libs = [load_lib("icechunk"), load_lib("frazil")]
    history = []
    for i in range(6):
        lib = libs[i % 2]
        storage = _storage(lib, kw, "alt")
        repo = lib.Repository.create(storage) if i == 0 else lib.Repository.open(storage)
        s = repo.writable_session("main")
        data = np.random.default_rng(i).random((16, 16))
        if i == 0:
            arr = zarr.create_array(s.store, name="x", shape=(16, 16), chunks=(4, 4), dtype="f8")
        else:
            arr = zarr.open_array(s.store, path="x")
        arr[:] = data
        history.append((s.commit(f"{lib.__name__} {i}"), data))
    for lib in libs:
        repo = lib.Repository.open(_storage(lib, kw, "alt"))
        for snap, data in history:
            got = zarr.open_array(repo.readonly_session(snapshot_id=snap).store, path="x",
                                  mode="r")[:]
            np.testing.assert_array_equal(got, data)
        msgs = [s.message for s in repo.ancestry(branch="main")]
        assert msgs[:6] == [f"{libs[i % 2].__name__} {i}" for i in reversed(range(6))]


def test_four_processes_eight_commits_each(az_container_kwargs):
    from frazil.testing import check_concurrent_commits
    from frazil_azure import azure_storage

    processes, commits = 4, 8
    storage = azure_storage(prefix="conc", **az_container_kwargs)
    check_concurrent_commits(storage, processes=processes, commits=commits)
    ic = load_lib("icechunk")
    irepo = ic.Repository.open(ic.azure_storage(prefix="conc", **az_container_kwargs))
    messages = [s.message for s in irepo.ancestry(branch="main")]
    assert len(messages) == processes * commits + 2
    assert sorted(m for m in messages if m.startswith("p")) == sorted(
        f"p{p} c{i}" for p in range(processes) for i in range(commits))


def test_four_processes_rebase_with_basic_solver(az_container_kwargs):
    """Lost races are rebased (``BasicConflictSolver``) instead of retried from scratch."""
    pytest.importorskip("frazil_conflict_solvers")
    from frazil.testing import check_concurrent_commits
    from frazil_azure import azure_storage

    storage = azure_storage(prefix="rebase", **az_container_kwargs)
    check_concurrent_commits(storage, processes=4, commits=6, rebase=True, solver="basic")


@pytest.mark.slow
def test_four_processes_thirty_commits_each(az_container_kwargs):
    """The soak version of the concurrent-commit check (``FRAZIL_RUN_SLOW=1``)."""
    from frazil.testing import check_concurrent_commits
    from frazil_azure import azure_storage

    storage = azure_storage(prefix="soak", **az_container_kwargs)
    check_concurrent_commits(storage, processes=4, commits=30)
