"""The by-dimension policy: manifests as expected, data read back by frazil and icechunk."""

from __future__ import annotations

import os

import frazil
import icechunk
import numpy as np
import pytest
import zarr
from frazil.plugins import get_plugins, reset_plugins
from frazil.split import SplitArray
from frazil_split_dim import SplitByDimension


def _manifests(path: str) -> int:
    return len(os.listdir(os.path.join(path, "manifests")))


def _write(repo, name="temp", shape=(10, 4), chunks=(1, 2), dims=("time", "x")):
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name=name, shape=shape, chunks=chunks, dtype="i4",
                          dimension_names=dims, fill_value=-1)
    data = np.arange(np.prod(shape), dtype="i4").reshape(shape)
    a[:] = data
    s.commit("write")
    return data


def test_registered_with_distribution():
    reset_plugins()
    try:
        assert get_plugins().split_policy("by-dimension") is SplitByDimension
        rows = [r for r in get_plugins().list_plugins() if r.name == "by-dimension"]
        assert rows[0].kind == "manifest split policy"
        assert rows[0].distribution == "frazil-split-dim"
    finally:
        reset_plugins()


def test_groups_along_the_named_dimension():
    arr = SplitArray("/t", (10, 4), (10, 2), ("x", "time"), {})
    coords = np.array([[i, j] for i in range(10) for j in range(2)], dtype=np.uint32)
    groups = SplitByDimension("x", every=4).split(arr, coords)
    assert [sorted(set(coords[g, 0].tolist())) for g in groups] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert SplitByDimension("level").split(arr, coords) is None
    assert SplitByDimension("x", 4, arrays="^/other").split(arr, coords) is None
    with pytest.raises(frazil.InvalidInputError):
        SplitByDimension("x", every=0)


def test_repository_handle_selects_policy(tmp_path):
    path = str(tmp_path / "repo")
    repo = frazil.Repository.create(frazil.local_filesystem_storage(path))
    repo.set_manifest_split_policy("by-dimension", dimension="time", every=3)
    assert isinstance(repo.manifest_split_policy, SplitByDimension)
    data = _write(repo)
    assert _manifests(path) == 4  # time chunks 0-2, 3-5, 6-8, 9
    for lib in (frazil, icechunk):
        r = lib.Repository.open(lib.local_filesystem_storage(path))
        got = zarr.open_array(r.readonly_session(branch="main").store, path="temp", mode="r")
        np.testing.assert_array_equal(got[:], data)


def test_environment_selects_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAZIL_MANIFEST_SPLIT_POLICY", "by-dimension:dimension=time,every=5")
    path = str(tmp_path / "repo")
    repo = frazil.Repository.create(frazil.local_filesystem_storage(path))
    data = _write(repo)
    assert _manifests(path) == 2
    # an update rewrites the array's manifests with the same boxes
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="temp", mode="r+")[9, :] = 7
    s.commit("update")
    data[9, :] = 7
    r = icechunk.Repository.open(icechunk.local_filesystem_storage(path))
    got = zarr.open_array(r.readonly_session(branch="main").store, path="temp", mode="r")
    np.testing.assert_array_equal(got[:], data)
