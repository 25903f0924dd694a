"""BasicConflictSolver: icechunk's semantics, export paths and lookup by name."""

from __future__ import annotations

import frazil as ic
import pytest
import zarr
from frazil.conflicts import Conflict, ConflictType
from frazil_conflict_solvers import BasicConflictSolver

CT = ConflictType
VS = ic.VersionSelection


@pytest.fixture
def repo() -> ic.Repository:
    repo = ic.Repository.create(ic.in_memory_storage())
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.create_array("a", shape=(4,), chunks=(2,), dtype="i4", fill_value=0)
    root.create_group("g")
    s.commit("init")
    return repo


def arr(repo: ic.Repository) -> list[int]:
    return zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:].tolist()


def race(repo: ic.Repository) -> ic.Session:
    s1, s2 = repo.writable_session("main"), repo.writable_session("main")
    zarr.open_array(s1.store, path="a", mode="r+")[0:3] = 1
    zarr.open_array(s2.store, path="a", mode="r+")[0:2] = 2
    s1.commit("one")
    return s2


def test_exports() -> None:
    assert ic.BasicConflictSolver is BasicConflictSolver
    assert ic.conflicts.BasicConflictSolver is BasicConflictSolver
    from frazil.plugins import get_plugins

    assert get_plugins().conflict_solver("basic") is BasicConflictSolver


def test_use_ours_default(repo: ic.Repository) -> None:
    race(repo).commit("two", rebase_with=BasicConflictSolver())
    assert arr(repo) == [2, 2, 1, 0]


def test_use_theirs(repo: ic.Repository) -> None:
    race(repo).commit("two", rebase_with=BasicConflictSolver(on_chunk_conflict=VS.UseTheirs),
                      allow_empty=True)
    assert arr(repo) == [1, 1, 1, 0]


def test_fail(repo: ic.Repository) -> None:
    with pytest.raises(ic.RebaseFailedError) as e:
        race(repo).commit("two", rebase_with=BasicConflictSolver(on_chunk_conflict=VS.Fail))
    assert e.value.conflicts == [Conflict(CT.ChunkDoubleUpdate, "/a", [[0]])]


def test_by_name(repo: ic.Repository) -> None:
    race(repo).commit("two", rebase_with="basic")
    assert arr(repo) == [2, 2, 1, 0]


def test_transaction(repo: ic.Repository) -> None:
    s1 = repo.writable_session("main")
    with repo.transaction("main", message="tx", rebase_with=BasicConflictSolver()) as store:
        zarr.open_array(store, path="a", mode="r+")[3] = 4
        zarr.open_array(s1.store, path="a", mode="r+")[0] = 5
        s1.commit("concurrent")
    assert arr(repo) == [5, 0, 0, 4]


def test_delete_of_updated(repo: ic.Repository) -> None:
    for flag in (False, True):
        s1, s2 = repo.writable_session("main"), repo.writable_session("main")
        zarr.open_array(s1.store, path="a", mode="r+")[0] = 9
        zarr.open_group(s1.store, path="g").attrs["x"] = flag
        zarr.open_group(s2.store).__delitem__("a")
        zarr.open_group(s2.store).__delitem__("g")
        s1.commit("update")
        solver = BasicConflictSolver(fail_on_delete_of_updated_array=flag,
                                     fail_on_delete_of_updated_group=flag)
        if flag:
            with pytest.raises(ic.RebaseFailedError) as e:
                s2.commit("delete", rebase_with=solver)
            assert {(c.conflict_type, c.path) for c in e.value.conflicts} == {
                (CT.DeleteOfUpdatedArray, "/a"), (CT.DeleteOfUpdatedGroup, "/g")}
        else:
            s2.commit("delete", rebase_with=solver)
            assert sorted(n for n, _ in zarr.open_group(
                repo.readonly_session("main").store, mode="r").members()) == []
            # restore for the next round
            s = repo.writable_session("main")
            root = zarr.group(s.store)
            root.create_array("a", shape=(4,), chunks=(2,), dtype="i4", fill_value=0)
            root.create_group("g")
            s.commit("restore")


def test_metadata_double_update_lists_all(repo: ic.Repository) -> None:
    s1, s2 = repo.writable_session("main"), repo.writable_session("main")
    zarr.open_group(s1.store, path="g").attrs["x"] = 1
    zarr.open_array(s1.store, path="a", mode="r+")[0] = 1
    zarr.open_group(s2.store, path="g").attrs["y"] = 2
    zarr.open_array(s2.store, path="a", mode="r+")[0] = 2
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.commit("two", rebase_with=BasicConflictSolver())
    assert sorted((c.conflict_type, c.path, c.conflicted_chunks) for c in e.value.conflicts) == [
        (CT.ZarrMetadataDoubleUpdate, "/g", None), (CT.ChunkDoubleUpdate, "/a", [[0]])]
