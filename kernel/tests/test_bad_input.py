"""Bad input gets a clear frazil error and loses nothing."""

from __future__ import annotations

import os

import frazil as ic
import numpy as np
import pytest
import zarr


@pytest.fixture
def filled(repo_path):
    repo = ic.Repository.create(ic.local_filesystem_storage(repo_path))
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=(2000,), chunks=(1000,), dtype="f8",
                          compressors=None)
    a[:] = np.arange(2000.0)
    sid = s.commit("data")
    return repo, repo_path, sid


def _fresh(path: str) -> ic.Repository:
    # immutable objects are cached per handle: a fresh handle reads storage again
    return ic.Repository.open(ic.local_filesystem_storage(path))


def _only_file(folder: str) -> str:
    (name,) = [n for n in os.listdir(folder)]
    return os.path.join(folder, name)


@pytest.mark.parametrize("damage", ["truncate", "magic", "version", "garbage", "empty"])
def test_corrupt_repo_file(filled, damage):
    repo, path, _ = filled
    p = os.path.join(path, "repo")
    data = open(p, "rb").read()
    bad = {
        "truncate": data[: len(data) // 2],
        "magic": b"XX" + data[2:],
        "version": data[:36] + bytes([9]) + data[37:],
        "garbage": data[:39] + os.urandom(200),
        "empty": b"",
    }[damage]
    open(p, "wb").write(bad)
    with pytest.raises(ic.FormatError) as e:
        ic.Repository.open(ic.local_filesystem_storage(path))
    assert "repo" in str(e.value)
    if damage == "version":
        assert e.value.kind == "unsupported-spec-version"


def test_corrupt_snapshot_and_manifest(filled):
    repo, path, sid = filled
    snap = os.path.join(path, "snapshots", sid)
    data = open(snap, "rb").read()
    open(snap, "wb").write(data[:-10])
    with pytest.raises(ic.FormatError, match=sid):
        _fresh(path).readonly_session(snapshot_id=sid)
    open(snap, "wb").write(data)
    man = _only_file(os.path.join(path, "manifests"))
    open(man, "wb").write(open(man, "rb").read()[:50])
    arr = zarr.open_array(_fresh(path).readonly_session(snapshot_id=sid).store, path="a",
                          mode="r")
    with pytest.raises(ic.FormatError, match="manifest"):
        arr[:]


def test_missing_objects(filled):
    repo, path, sid = filled
    for name in os.listdir(os.path.join(path, "chunks")):
        os.remove(os.path.join(path, "chunks", name))
    arr = zarr.open_array(repo.readonly_session(snapshot_id=sid).store, path="a", mode="r")
    with pytest.raises(ic.FormatError, match="chunk"):
        arr[:]
    os.remove(_only_file(os.path.join(path, "manifests")))
    arr = zarr.open_array(_fresh(path).readonly_session(snapshot_id=sid).store, path="a",
                          mode="r")
    with pytest.raises(ic.FormatError, match="missing"):
        arr[:]
    os.remove(os.path.join(path, "snapshots", sid))
    with pytest.raises(ic.SnapshotNotFoundError):
        _fresh(path).readonly_session(branch="main")


def test_not_a_repository(tmp_path):
    with pytest.raises(ic.RepositoryNotFoundError):
        ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "empty")))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ic.IcechunkError):
        ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "file")))


def test_malformed_ids_and_paths(filled):
    repo, _, _ = filled
    for bad in ["", "short", "1CECHNKREP0F1RSTCMT!", "1CECHNKREP0F1RSTCMT0X", 12]:
        with pytest.raises(ic.InvalidInputError):
            repo.readonly_session(snapshot_id=bad)
    s = repo.writable_session("main")
    with pytest.raises(ic.InvalidInputError):
        s.get_node_id("a/../b")
    with pytest.raises(ic.InvalidInputError):
        s.get_node_id("/a//b")


def test_failed_commit_leaves_repository_usable(filled):
    """A commit whose repo update fails (here: the branch moved) publishes nothing."""
    repo, path, sid = filled
    s1 = repo.writable_session("main")
    s2 = repo.writable_session("main")
    zarr.open_array(s1.store, path="a", mode="r+")[:10] = -1
    zarr.open_array(s2.store, path="a", mode="r+")[:10] = -2
    new = s1.commit("one")
    with pytest.raises(ic.ConflictError):
        s2.commit("two")
    assert repo.lookup_branch("main") == new
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
    np.testing.assert_array_equal(arr[:10], -1)
    assert [h.message for h in repo.ancestry(branch="main")][:2] == ["one", "data"]


def test_truncated_chunk_object_is_an_error(filled):
    repo, path, sid = filled
    for name in os.listdir(os.path.join(path, "chunks")):
        p = os.path.join(path, "chunks", name)
        open(p, "wb").write(open(p, "rb").read()[:100])
    arr = zarr.open_array(_fresh(path).readonly_session(snapshot_id=sid).store, path="a",
                          mode="r")
    with pytest.raises(ic.FormatError, match="truncated"):
        arr[:]
