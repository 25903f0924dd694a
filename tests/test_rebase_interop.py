"""frazil rebases over commits made by icechunk 2.3, and icechunk reads the result."""

from __future__ import annotations

import frazil as ic
import icechunk
import numpy as np
import pytest
import zarr


def setup(path: str) -> None:
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(path))
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.create_array("a", shape=(8,), chunks=(2,), dtype="i4", fill_value=0)
    root.create_group("g", attributes={"k": 0})
    s.commit("init by icechunk")


def test_frazil_rebases_over_icechunk_commits(repo_path: str) -> None:
    setup(repo_path)
    frepo = ic.Repository.open(ic.local_filesystem_storage(repo_path))
    fs = frepo.writable_session("main")
    zarr.open_array(fs.store, path="a", mode="r+")[0:2] = 1
    zarr.open_group(fs.store).create_group("new_by_frazil")
    irepo = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    for i in range(3):
        s = irepo.writable_session("main")
        zarr.open_array(s.store, path="a", mode="r+")[2 + 2 * i: 4 + 2 * i] = 10 + i
        s.commit(f"icechunk {i}")
    sid = fs.commit("frazil", rebase_with=ic.BasicConflictSolver())
    irepo = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    assert irepo.lookup_branch("main") == sid
    a = zarr.open_array(irepo.readonly_session("main").store, path="a", mode="r")[:]
    np.testing.assert_array_equal(a, [1, 1, 10, 10, 11, 11, 12, 12])
    assert [x.message for x in irepo.ancestry(branch="main")] == [
        "frazil", "icechunk 2", "icechunk 1", "icechunk 0", "init by icechunk",
        "Repository initialized"]
    assert "new_by_frazil" in dict(zarr.open_group(irepo.readonly_session("main").store,
                                                 mode="r").members())
    # and icechunk can rebase over frazil's commit (frazil's transaction log is readable)
    s1 = irepo.writable_session("main")
    s2 = irepo.writable_session("main")
    zarr.open_array(s1.store, path="a", mode="r+")[7] = 99
    zarr.open_array(s2.store, path="a", mode="r+")[0] = 98
    s1.commit("icechunk again")
    fs2 = frepo.writable_session("main")
    zarr.open_array(fs2.store, path="a", mode="r+")[4] = 97
    s2.commit("icechunk rebased", rebase_with=icechunk.BasicConflictSolver())
    fs2.commit("frazil again", rebase_with=ic.BasicConflictSolver())
    a = zarr.open_array(irepo.readonly_session("main").store, path="a", mode="r")[:]
    np.testing.assert_array_equal(a, [98, 1, 10, 10, 97, 11, 12, 99])


def test_real_conflicts_against_icechunk_commit(repo_path: str) -> None:
    setup(repo_path)
    frepo = ic.Repository.open(ic.local_filesystem_storage(repo_path))
    fs = frepo.writable_session("main")
    zarr.open_array(fs.store, path="a", mode="r+")[1:5] = 1
    zarr.open_group(fs.store, path="g").attrs["k"] = "frazil"
    irepo = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    s = irepo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[3:8] = 2
    zarr.open_group(s.store, path="g").attrs["k"] = "icechunk"
    theirs = s.commit("icechunk")
    with pytest.raises(ic.RebaseFailedError) as e:
        fs.commit("frazil", rebase_with=ic.BasicConflictSolver(
            on_chunk_conflict=ic.VersionSelection.Fail))
    assert e.value.snapshot == theirs
    got = sorted((c.conflict_type.name, c.path, c.conflicted_chunks) for c in e.value.conflicts)
    assert got == [("ChunkDoubleUpdate", "/a", [[1], [2]]),
                   ("ZarrMetadataDoubleUpdate", "/g", None)]


def test_same_conflicts_as_icechunk(repo_path: str) -> None:
    """frazil's detector reports what icechunk's reports for the same situation."""
    results = {}
    for name, lib in (("icechunk", icechunk), ("frazil", ic)):
        path = f"{repo_path}-{name}"
        setup(path)
        repo = lib.Repository.open(lib.local_filesystem_storage(path))
        s1, s2 = repo.writable_session("main"), repo.writable_session("main")
        zarr.open_array(s1.store, path="a", mode="r+")[0:3] = 1
        zarr.open_group(s1.store, path="g").attrs["x"] = 1
        zarr.open_array(s2.store, path="a", mode="r+")[2:6] = 2
        zarr.open_group(s2.store).__delitem__("g")
        s1.commit("one")
        with pytest.raises(lib.RebaseFailedError) as e:
            s2.rebase(lib.ConflictDetector())
        results[name] = sorted((str(c.conflict_type), c.path, c.conflicted_chunks)
                               for c in e.value.conflicts)
    assert results["frazil"] == results["icechunk"]
