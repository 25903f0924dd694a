"""icechunk's own tooling accepts what frazil writes: inspect, diff, GC, expiration.

These go deeper than reading data: icechunk walks every metadata file frazil
wrote, recomputes diffs from frazil's transaction logs and deletes what frazil's
manifests no longer reference. Afterwards frazil still reads every kept version.
"""

from __future__ import annotations

import datetime as dt

import frazil
import numpy as np
import pytest
import zarr

icechunk = pytest.importorskip("icechunk")
pytestmark = pytest.mark.interop


def _history(path: str) -> tuple[list[str], dict[str, np.ndarray]]:
    repo = frazil.Repository.create(frazil.local_filesystem_storage(path))
    s = repo.writable_session("main")
    g = zarr.group(store=s.store, attributes={"title": "maintenance"})
    a = g.create_array("a", shape=(40, 40), chunks=(10, 10), dtype="f8", fill_value=0,
                       compressors=None)  # 800-byte chunks: native chunk files
    a[:] = 1.0
    g.create_array("small", shape=(4,), chunks=(2,), dtype="i2")[:] = [1, 2, 3, 4]
    ids = [s.commit("one")]
    expected = {ids[0]: np.ones((40, 40))}
    for i in range(2, 5):
        s = repo.writable_session("main")
        arr = zarr.open_array(s.store, path="a", mode="r+")
        arr[:10, :10] = float(i)  # rewrites one chunk; the old one becomes garbage later
        ids.append(s.commit(f"v{i}", metadata={"i": i}))
        data = expected[ids[-2]].copy()
        data[:10, :10] = float(i)
        expected[ids[-1]] = data
    return ids, expected


def test_icechunk_inspects_and_diffs_frazil_history(tmp_path):
    path = str(tmp_path / "repo")
    ids, _ = _history(path)
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(path))
    info = repo.inspect_repo_info()
    assert info  # icechunk parsed frazil's repo file into its own description
    for sid in ids:
        assert repo.inspect_snapshot(sid)
        assert repo.list_manifest_files(sid)
    d = repo.diff(from_snapshot_id=ids[0], to_snapshot_id=ids[1])
    assert d.updated_chunks == {"/a": [[0, 0]]}
    d = repo.diff(from_snapshot_id="1CECHNKREP0F1RSTCMT0", to_snapshot_id=ids[0])
    assert d.new_arrays == {"/a", "/small"} and d.new_groups == {"/"}


def test_icechunk_expires_and_collects_frazil_repository(tmp_path):
    path = str(tmp_path / "repo")
    ids, expected = _history(path)
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(path))
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    repo.expire_snapshots(older_than=future)
    summary = repo.garbage_collect(future)
    assert summary.chunks_deleted == 3  # the three rewritten versions of chunk (0, 0)
    # frazil still reads the tip, and everything icechunk kept
    fl = frazil.Repository.open(frazil.local_filesystem_storage(path))
    tip = fl.lookup_branch("main")
    assert tip == ids[-1]
    arr = zarr.open_array(fl.readonly_session(branch="main").store, path="a", mode="r")
    np.testing.assert_array_equal(arr[:], expected[ids[-1]])
    # and frazil can keep committing on top of icechunk's rewritten repo file
    s = fl.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[39, 39] = 7.0
    s.commit("after gc")
    got = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
    assert got[39, 39] == 7.0
