"""frazil-gcs against the real icechunk 2.3 through fake-gcs-server, and concurrent commits.

icechunk's ``gcs_storage`` cannot list on the emulator (XML API), so icechunk
works on local copies: icechunk writes a repository locally, its objects are
uploaded, and frazil reads every version over GCS; frazil commits over GCS,
the objects are downloaded, and icechunk reads every version; and both commit
alternately that way. Four processes commit concurrently through frazil-gcs.
"""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from _gcs_fake import download_tree, upload_tree
from _interop_support import load_lib

pytestmark = pytest.mark.interop


def _bucket(kw):
    return kw["bucket"]


def _frazil_repo(kw, prefix, create=False):
    frazil = load_lib("frazil")
    from frazil_gcs import gcs_storage

    storage = gcs_storage(prefix=prefix, **kw)
    return frazil.Repository.create(storage) if create else frazil.Repository.open(storage)


def _ic_repo(path, create=False):
    ic = load_lib("icechunk")
    storage = ic.local_filesystem_storage(str(path))
    return ic.Repository.create(storage) if create else ic.Repository.open(storage)


def _commit(repo, seed, branch="main", create=False):
    """Write array ``x`` (and group attrs on create) on ``branch``; returns (snapshot, data)."""
    session = repo.writable_session(branch)
    data = np.random.default_rng(seed).random((24, 24))
    if create:
        root = zarr.group(session.store)
        root.attrs["made_by"] = type(repo).__module__
        arr = root.create_array("x", shape=(24, 24), chunks=(8, 8), dtype="f8")
    else:
        arr = zarr.open_array(session.store, path="x")
    arr[:] = data
    return session.commit(f"seed {seed}"), data


def _versions(repo):
    """Every snapshot reachable from branches and tags -> array ``x`` there."""
    out = {}
    for name in sorted(repo.list_branches()):
        for snap in repo.ancestry(branch=name):
            session = repo.readonly_session(snapshot_id=snap.id)
            try:
                out[snap.id] = (snap.message, zarr.open_array(session.store, path="x",
                                                              mode="r")[:].tolist())
            except Exception:  # noqa: BLE001 - the initial snapshot has no array
                out[snap.id] = (snap.message, None)
    return out


def _refs(repo):
    return ({b: repo.lookup_branch(b) for b in repo.list_branches()},
            {t: repo.lookup_tag(t) for t in repo.list_tags()})


def _history(ic_or_frazil_repo):
    ic = ic_or_frazil_repo
    first, _ = _commit(ic, 1, create=True)
    _commit(ic, 2)
    ic.create_branch("dev", first)
    _commit(ic, 3, branch="dev")
    snap, _ = _commit(ic, 4)
    ic.create_tag("v1", first)
    ic.create_tag("v2", snap)


def test_icechunk_writes_frazil_reads_every_version(gcs_bucket_kwargs, gcs_raw_client, tmp_path):
    ic = _ic_repo(tmp_path / "ic", create=True)
    _history(ic)
    assert upload_tree(gcs_raw_client, _bucket(gcs_bucket_kwargs), "fromic", tmp_path / "ic")
    fr = _frazil_repo(gcs_bucket_kwargs, "fromic")
    assert _refs(fr) == _refs(ic)
    assert _versions(fr) == _versions(ic)
    assert len(_versions(fr)) == 5  # the initial snapshot and four commits


def test_frazil_writes_icechunk_reads_every_version(gcs_bucket_kwargs, gcs_raw_client, tmp_path):
    fr = _frazil_repo(gcs_bucket_kwargs, "fromfr", create=True)
    _history(fr)
    assert download_tree(gcs_raw_client, _bucket(gcs_bucket_kwargs), "fromfr", tmp_path / "c")
    ic = _ic_repo(tmp_path / "c")
    assert _refs(ic) == _refs(fr)
    assert _versions(ic) == _versions(fr)
    assert len(_versions(ic)) == 5  # the initial snapshot and four commits


def test_alternating_commits(gcs_bucket_kwargs, gcs_raw_client, tmp_path):
    bucket = _bucket(gcs_bucket_kwargs)
    history = []
    for i in range(6):
        if i % 2 == 0:  # icechunk, on a local copy of what is in the bucket
            local = tmp_path / f"copy{i}"
            if i == 0:
                ic = _ic_repo(local, create=True)
            else:
                download_tree(gcs_raw_client, bucket, "alt", local)
                ic = _ic_repo(local)
            history.append(_commit(ic, i, create=(i == 0)))
            upload_tree(gcs_raw_client, bucket, "alt", local)
        else:
            history.append(_commit(_frazil_repo(gcs_bucket_kwargs, "alt"), i))
    download_tree(gcs_raw_client, bucket, "alt", tmp_path / "final")
    for repo in (_ic_repo(tmp_path / "final"), _frazil_repo(gcs_bucket_kwargs, "alt")):
        for snap, data in history:
            session = repo.readonly_session(snapshot_id=snap)
            got = zarr.open_array(session.store, path="x", mode="r")[:]
            np.testing.assert_array_equal(got, data)
        msgs = [s.message for s in repo.ancestry(branch="main")]
        assert msgs[:6] == [f"seed {i}" for i in reversed(range(6))]


def test_four_processes_commit_concurrently(gcs_bucket_kwargs):
    from frazil.testing import check_concurrent_commits
    from frazil_gcs import gcs_storage

    storage = gcs_storage(prefix="conc", **gcs_bucket_kwargs)
    retries = check_concurrent_commits(storage, processes=4, commits=8)
    assert retries >= 0
    fresh = _frazil_repo(gcs_bucket_kwargs, "conc")
    messages = [s.message for s in fresh.ancestry(branch="main")]
    assert {f"p{p} c{c}" for p in range(4) for c in range(8)} <= set(messages)


@pytest.mark.slow
def test_four_processes_commit_concurrently_soak(gcs_bucket_kwargs):
    from frazil.testing import check_concurrent_commits
    from frazil_gcs import gcs_storage

    check_concurrent_commits(gcs_storage(prefix="soak", **gcs_bucket_kwargs), processes=4,
                             commits=25)
