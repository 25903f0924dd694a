"""Conflict detection and rebase in the kernel (ConflictDetector and an in-test solver)."""

from __future__ import annotations

import asyncio

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil.conflicts import Conflict, ConflictSolver, ConflictType, RebaseStep

CT = ConflictType


@pytest.fixture(params=[2, 1], ids=["spec2", "spec1"])
def spec_version(request):
    """Fresh repositories of this module are created in both spec versions."""
    return request.param


@pytest.fixture
def repo(spec_version: int) -> ic.Repository:
    repo = ic.Repository.create(ic.in_memory_storage(), spec_version=spec_version)
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.create_array("a", shape=(4, 4), chunks=(2, 2), dtype="i4", fill_value=0)
    root.create_array("b", shape=(4,), chunks=(2,), dtype="i4", fill_value=0)
    root.create_group("g")
    s.commit("init")
    return repo


def two(repo: ic.Repository) -> tuple[ic.Session, ic.Session]:
    return repo.writable_session("main"), repo.writable_session("main")


def write(s: ic.Session, path: str, sel: tuple, value: int) -> None:
    zarr.open_array(s.store, path=path, mode="r+")[sel] = value


def test_disjoint_chunks_rebase_with_detector(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    write(s1, "a", (slice(0, 2), slice(0, 2)), 1)
    write(s2, "a", (slice(2, 4), slice(2, 4)), 2)
    write(s2, "b", slice(0, 2), 3)
    s1.commit("one")
    with pytest.raises(ic.ConflictError):
        s2.commit("two")
    s2.commit("two", rebase_with=ic.ConflictDetector())
    a = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:]
    assert (a[:2, :2] == 1).all() and (a[2:, 2:] == 2).all()
    assert [x.message for x in repo.ancestry(branch="main")][:3] == ["two", "one", "init"]
    md = next(iter(repo.ancestry(branch="main"))).metadata
    assert md["__icechunk"]["rebase_attempts"] == 1


def test_explicit_rebase_then_commit(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    write(s1, "a", (0, 0), 1)
    write(s2, "b", 0, 5)
    tip = s1.commit("one")
    s2.rebase(ic.ConflictDetector())
    assert s2.snapshot_id == tip
    s2.commit("two")
    b = zarr.open_array(repo.readonly_session("main").store, path="b", mode="r")[:]
    assert b[0] == 5


def test_chunk_double_update_detected(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    write(s1, "a", (slice(0, 4), 0), 1)
    write(s2, "a", (slice(0, 3), slice(0, 4)), 2)
    sid = s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.commit("two", rebase_with=ic.ConflictDetector())
    assert e.value.snapshot == sid
    assert e.value.conflicts == [Conflict(CT.ChunkDoubleUpdate, "/a", [[0, 0], [1, 0]])]
    assert e.value.kind == "rebase-failed"
    # the change set is intact and the session is still writable
    assert s2.has_uncommitted_changes


def test_metadata_and_delete_conflicts(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    zarr.open_group(s1.store, path="g").attrs["x"] = 1
    write(s1, "b", 0, 1)
    zarr.open_group(s2.store, path="g").attrs["x"] = 2
    zarr.open_group(s2.store).__delitem__("b")
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.rebase(ic.ConflictDetector())
    got = sorted((c.conflict_type, c.path, c.conflicted_chunks) for c in e.value.conflicts)
    assert got == [(CT.ZarrMetadataDoubleUpdate, "/g", None),
                   (CT.DeleteOfUpdatedArray, "/b", None)]


def test_new_node_conflicts(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    zarr.open_group(s1.store).create_group("n")
    zarr.open_group(s1.store).create_array("arr", shape=(1,), dtype="i1")
    zarr.open_group(s2.store).create_group("n")
    zarr.open_group(s2.store).create_group("arr/child")
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.rebase(ic.ConflictDetector())
    got = {(c.conflict_type, c.path) for c in e.value.conflicts}
    assert (CT.NewNodeConflictsWithExistingNode, "/n") in got
    assert (CT.NewNodeConflictsWithExistingNode, "/arr") in got
    assert (CT.NewNodeInInvalidGroup, "/arr") in got


def test_update_of_deleted_and_chunks_in_deleted(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    zarr.open_group(s1.store).__delitem__("a")
    zarr.open_group(s1.store).__delitem__("g")
    write(s2, "a", (0, 0), 1)
    zarr.open_group(s2.store, path="g").attrs["y"] = 1
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.rebase(ic.ConflictDetector())
    got = sorted((c.conflict_type, c.path) for c in e.value.conflicts)
    assert got == [(CT.ZarrMetadataUpdateOfDeletedGroup, "/g"),
                   (CT.ChunksUpdatedInDeletedArray, "/a")]


def test_chunks_in_updated_array(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    zarr.open_array(s1.store, path="a", mode="r+").attrs["units"] = "m"
    write(s2, "a", (0, 0), 1)
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.rebase(ic.ConflictDetector())
    assert [(c.conflict_type, c.path) for c in e.value.conflicts] == [
        (CT.ChunksUpdatedInUpdatedArray, "/a")]


class TheirsWin(ConflictSolver):
    """In-test solver: drop our writes of double-updated chunks."""

    async def solve(self, step: RebaseStep) -> list[Conflict]:
        left = []
        for c in step.conflicts:
            if c.conflict_type is CT.ChunkDoubleUpdate:
                step.drop_chunk_changes(c.path, c.conflicted_chunks or [])
            else:
                left.append(c)
        return left


def test_custom_solver_over_several_commits(repo: ic.Repository) -> None:
    s = repo.writable_session("main")
    write(s, "a", (slice(0, 4), slice(0, 4)), 9)
    for i in range(3):
        o = repo.writable_session("main")
        write(o, "a", (0, 0), i + 1)
        o.commit(f"other {i}")
    sid = s.commit("mine", rebase_with=TheirsWin())
    a = zarr.open_array(repo.readonly_session(snapshot_id=sid).store, path="a", mode="r")[:]
    assert a[0, 0] == 3 and a[0, 1] == 0  # chunk (0,0) is theirs
    assert (a[2:, :] == 9).all() and (a[:2, 2:] == 9).all()
    assert len(list(repo.ancestry(branch="main"))) == 6


def test_updated_array_keeps_their_chunks(repo: ic.Repository) -> None:
    s1, s2 = two(repo)
    write(s1, "a", (3, 3), 7)
    zarr.open_array(s2.store, path="a", mode="r+").attrs["k"] = "v"
    s1.commit("one")
    s2.commit("two", rebase_with=ic.ConflictDetector())
    arr = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")
    assert arr[3, 3] == 7 and arr.attrs["k"] == "v"


def test_rebase_tries_exhausted(repo: ic.Repository) -> None:
    s = repo.writable_session("main")
    write(s, "b", 0, 1)
    calls = []

    class Racing(ConflictSolver):
        def solve(self, step: RebaseStep) -> list[Conflict]:
            return list(step.conflicts)

    orig = s.rebase_async

    async def rebase_and_race(solver: object) -> None:
        await orig(solver)
        calls.append(1)

        def race() -> None:
            o = repo.writable_session("main")
            write(o, "a", (0, 0), len(calls))
            o.commit("race")

        await asyncio.to_thread(race)

    other = repo.writable_session("main")
    write(other, "a", (0, 0), 1)
    other.commit("first")
    s.rebase_async = rebase_and_race  # type: ignore[method-assign]
    with pytest.raises(ic.ConflictError) as e:
        s.commit("mine", rebase_with=Racing(), rebase_tries=2)
    assert not isinstance(e.value, ic.RebaseFailedError)
    assert len(calls) == 2


def test_solver_by_name_unknown() -> None:
    repo = ic.Repository.create(ic.in_memory_storage())
    s = repo.writable_session("main")
    zarr.group(s.store)
    with pytest.raises(ic.InvalidInputError, match="no-such-solver"):
        s.commit("x", rebase_with="no-such-solver")


def test_conflict_type_api() -> None:
    assert str(CT.ChunkDoubleUpdate) == "Chunk double update"
    assert CT.MoveOperationCannotBeRebased.value == 11
    assert [v.name for v in ic.VersionSelection] == ["Fail", "UseOurs", "UseTheirs"]
    c = Conflict(CT.ChunkDoubleUpdate, "/a", [[0, 1]])
    assert c.conflicted_chunks == [[0, 1]] and c.path == "/a"
    assert np.array_equal(c.conflicted_chunks, [[0, 1]])


def test_our_delete_does_not_hide_their_recreated_node(tmp_path, spec_version):
    """Like icechunk: deleting a node the branch already replaced leaves theirs alone."""
    import frazil as ic
    import zarr

    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "r")),
                                spec_version=spec_version)
    s = repo.writable_session("main")
    zarr.group(s.store).create_array("arr", shape=(2,), dtype="i4")
    s.commit("arr")
    ours = repo.writable_session("main")
    theirs = repo.writable_session("main")
    g = zarr.open_group(theirs.store, mode="a")
    del g["arr"]
    g.create_array("arr", shape=(3,), dtype="i4")
    theirs.commit("recreate")
    del zarr.open_group(ours.store, mode="a")["arr"]
    ours.commit("delete arr", rebase_with=ic.ConflictDetector())
    got = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    assert got["arr"].shape == (3,)


def test_a_conflicting_commit_writes_nothing(tmp_path) -> None:
    """The branch moved: the commit fails before it writes its snapshot, manifest or
    transaction log (nothing to garbage-collect later); the retry after a rebase writes
    them once."""
    import os

    root = tmp_path / "r"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(root)))
    s = repo.writable_session("main")
    zarr.group(s.store).create_array("x", shape=(8,), chunks=(2,), dtype="i4",
                                     compressors=None)[:] = 1
    s.commit("base")
    ours, theirs = repo.writable_session("main"), repo.writable_session("main")
    zarr.open_array(theirs.store, path="x", mode="r+")[0:2] = 5
    theirs.commit("theirs")
    zarr.open_array(ours.store, path="x", mode="r+")[6:8] = 7

    def objects() -> dict[str, int]:
        return {d: len(os.listdir(root / d)) for d in ("snapshots", "manifests", "transactions")}

    before = objects()
    with pytest.raises(ic.ConflictError):
        ours.commit("ours")
    assert objects() == before
    ours.rebase(ic.ConflictDetector())
    ours.commit("ours, rebased")
    assert objects() == {d: n + 1 for d, n in before.items()}
    got = zarr.open_array(repo.readonly_session("main").store, path="x", mode="r")[:]
    np.testing.assert_array_equal(got, [5, 5, 1, 1, 1, 1, 7, 7])
