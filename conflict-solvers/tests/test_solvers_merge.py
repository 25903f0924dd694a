"""AttributeMergeSolver and FillValueChunkSolver."""

from __future__ import annotations

import json

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil.conflicts import ConflictType
from frazil_conflict_solvers import (
    AttributeMergeSolver,
    BasicConflictSolver,
    FillValueChunkSolver,
    merge_metadata,
)

CT = ConflictType


@pytest.fixture
def repo() -> ic.Repository:
    repo = ic.Repository.create(ic.in_memory_storage())
    s = repo.writable_session("main")
    root = zarr.group(s.store, attributes={"keep": 0, "shared": "base"})
    root.create_array("a", shape=(6, 6), chunks=(3, 3), dtype="f8", fill_value=np.nan)
    s.commit("init")
    return repo


def sessions(repo: ic.Repository) -> tuple[ic.Session, ic.Session]:
    return repo.writable_session("main"), repo.writable_session("main")


def test_merge_metadata_unit() -> None:
    b = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"a": 1, "b": 2}})
    o = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"a": 5, "b": 2}})
    t = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"a": 1, "c": 3}})
    merged = json.loads(merge_metadata(b.encode(), o.encode(), t.encode()) or b"null")
    assert merged["attributes"] == {"a": 5, "c": 3}
    assert merged["node_type"] == "group"
    # "a" changed differently on both sides -> conflict
    t2 = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"a": 7, "b": 2}})
    assert merge_metadata(b.encode(), o.encode(), t2.encode()) is None


def test_merge_metadata_delete_vs_change_conflicts() -> None:
    b = b'{"attributes": {"a": 1}}'
    assert merge_metadata(b, b'{"attributes": {"a": 2}}', b'{"attributes": {}}') is None
    assert json.loads(merge_metadata(b, b, b'{"attributes": {}}') or b"") == {"attributes": {}}


def test_attribute_merge_different_keys(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_group(s1.store).attrs["from_one"] = 1
    g2 = zarr.open_group(s2.store)
    g2.attrs["from_two"] = 2
    del g2.attrs["keep"]
    s1.commit("one")
    s2.commit("two", rebase_with=AttributeMergeSolver())
    attrs = dict(zarr.open_group(repo.readonly_session("main").store, mode="r").attrs)
    assert attrs == {"shared": "base", "from_one": 1, "from_two": 2}


def test_attribute_merge_same_key_conflicts(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_group(s1.store).attrs["shared"] = "one"
    zarr.open_group(s2.store).attrs["shared"] = "two"
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.commit("two", rebase_with=AttributeMergeSolver())
    assert [(c.conflict_type, c.path) for c in e.value.conflicts] == [
        (CT.ZarrMetadataDoubleUpdate, "/")]


def test_attribute_merge_same_key_same_value_still_conflicts(repo: ic.Repository) -> None:
    """Two writers claiming one attribute key is a conflict even if they agree."""
    s1, s2 = sessions(repo)
    zarr.open_group(s1.store).attrs["shared"] = "same"
    zarr.open_group(s2.store).attrs["shared"] = "same"
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.commit("two", rebase_with=AttributeMergeSolver())
    assert [(c.conflict_type, c.path) for c in e.value.conflicts] == [
        (CT.ZarrMetadataDoubleUpdate, "/")]


def test_attribute_merge_keeps_chunks_when_only_attrs_changed(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_array(s1.store, path="a", mode="r+").attrs["units"] = "K"
    zarr.open_array(s2.store, path="a", mode="r+")[0, 0] = 1.5
    s1.commit("attrs")
    with pytest.raises(ic.RebaseFailedError):
        s2.rebase(BasicConflictSolver())
    s2.commit("data", rebase_with=AttributeMergeSolver(fallback=BasicConflictSolver()))
    a = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")
    assert a[0, 0] == 1.5 and a.attrs["units"] == "K"


def test_attribute_merge_by_name(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_group(s1.store).attrs["x"] = 1
    zarr.open_group(s2.store).attrs["y"] = 2
    s1.commit("one")
    s2.commit("two", rebase_with="attribute-merge")
    attrs = dict(zarr.open_group(repo.readonly_session("main").store, mode="r").attrs)
    assert attrs["x"] == 1 and attrs["y"] == 2


def test_fill_value_disjoint_parts_of_shared_chunks(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_array(s1.store, path="a", mode="r+")[0:2, :] = 1.0   # rows 0-1
    zarr.open_array(s2.store, path="a", mode="r+")[2:4, :] = 2.0   # rows 2-3 share chunks
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError):
        s2.rebase(ic.ConflictDetector())
    s2.commit("two", rebase_with=FillValueChunkSolver())
    a = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:]
    assert (a[0:2] == 1).all() and (a[2:4] == 2).all() and np.isnan(a[4:]).all()


def test_fill_value_overlap_is_conflict(repo: ic.Repository) -> None:
    s1, s2 = sessions(repo)
    zarr.open_array(s1.store, path="a", mode="r+")[0:2, 0:2] = 1.0
    zarr.open_array(s2.store, path="a", mode="r+")[1:2, 1:5] = 2.0
    s1.commit("one")
    with pytest.raises(ic.RebaseFailedError) as e:
        s2.commit("two", rebase_with=FillValueChunkSolver())
    assert [(c.conflict_type, c.path, c.conflicted_chunks) for c in e.value.conflicts] == [
        (CT.ChunkDoubleUpdate, "/a", [[0, 0]])]
    # with a fallback that picks a side, the non-overlapping chunk still merges
    s2.commit("two", rebase_with=FillValueChunkSolver(
        fallback=BasicConflictSolver(on_chunk_conflict=ic.VersionSelection.UseOurs)))
    a = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:]
    assert a[1, 1] == 2 and a[1, 4] == 2


def test_fill_value_three_way_with_base_data(repo: ic.Repository) -> None:
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[:, :] = 0.0
    s.commit("zeros")
    s1, s2 = sessions(repo)
    zarr.open_array(s1.store, path="a", mode="r+")[0, :] = 1.0
    zarr.open_array(s2.store, path="a", mode="r+")[1, :] = 2.0
    s1.commit("one")
    s2.commit("two", rebase_with="fill-value")
    a = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:]
    assert (a[0] == 1).all() and (a[1] == 2).all() and (a[2:] == 0).all()
