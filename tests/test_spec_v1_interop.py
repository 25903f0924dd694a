"""Spec-version-1 repositories against icechunk 2.3, in both directions, and the upgrade.

The repository-building harness of ``test_interop`` (several commits, two
branches, tags, a deleted tag, many array kinds) runs with
``spec_version=1``; ``check_repository`` then compares refs, ancestry and
every version's data through the reader and through icechunk.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import zarr
from _interop_support import load_lib
from test_interop import build_varied_repo, check_repository

pytestmark = pytest.mark.interop

ICECHUNK_FRAZIL = [("icechunk", "frazil"), ("frazil", "icechunk")]


def _files(path: str) -> dict[str, bytes]:
    """Every object of a local repository (frazil's lock files aside) and its bytes."""
    out = {}
    for root, _dirs, names in os.walk(path):
        for n in names:
            full = os.path.join(root, n)
            rel = os.path.relpath(full, path)
            if not rel.startswith(".frazil"):
                with open(full, "rb") as f:
                    out[rel] = f.read()
    return out


def _open(lib, path: str):
    return lib.Repository.open(lib.local_filesystem_storage(path))


def _assert_v1_layout(path: str) -> None:
    files = _files(path)
    assert "repo" not in files
    assert "refs/branch.main/ref.json" in files
    for lib in map(load_lib, ("icechunk", "frazil")):
        assert lib.Repository.fetch_spec_version(lib.local_filesystem_storage(path)) == 1
        assert _open(lib, path).spec_version == 1


def _commit_on_top(lib, path: str, branch: str, mark: str) -> str:
    s = _open(lib, path).writable_session(branch)
    zarr.open_group(s.store, mode="r+").attrs["last"] = mark
    return s.commit(f"on top: {mark}")


@pytest.fixture(scope="module")
def icechunk_v1(tmp_path_factory):
    """A v1 repository icechunk wrote, and its description (copied before each use)."""
    path = str(tmp_path_factory.mktemp("v1") / "repo")
    desc = build_varied_repo(load_lib("icechunk"), path, spec_version=1)
    return path, desc


@pytest.fixture
def v1_copy(icechunk_v1, tmp_path):
    src, desc = icechunk_v1
    dst = str(tmp_path / "repo")
    shutil.copytree(src, dst)
    return dst, desc


@pytest.mark.parametrize("writer,reader", ICECHUNK_FRAZIL)
def test_v1_write_then_read(writer, reader, repo_path):
    """One library writes a v1 repository; the other reads every version identically,
    commits on both branches, and the first reads those commits."""
    w, r, ice = load_lib(writer), load_lib(reader), load_lib("icechunk")
    desc = build_varied_repo(w, repo_path, spec_version=1)
    _assert_v1_layout(repo_path)
    check_repository(repo_path, desc, r, ice)
    for branch in ("main", "dev"):
        sid = _commit_on_top(r, repo_path, branch, reader)
        desc.branches[branch] = sid
    _assert_v1_layout(repo_path)
    check_repository(repo_path, desc, w, ice)
    check_repository(repo_path, desc, r, ice)
    for lib in (w, r):
        for branch in ("main", "dev"):
            ro = _open(lib, repo_path).readonly_session(branch=branch)
            assert zarr.open_group(ro.store, mode="r").attrs["last"] == reader


def test_v1_alternating_commits(repo_path):
    """icechunk and frazil commit in turns to one v1 repository; both see everything."""
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    desc = build_varied_repo(fz, repo_path, alternate_with=ice, spec_version=1)
    _assert_v1_layout(repo_path)
    for lib in (ice, fz):
        check_repository(repo_path, desc, lib, ice)


def test_v1_refs_time_travel_and_reset(v1_copy):
    """Branch, tag, deleted-tag, reset and as_of on an icechunk v1 repository through frazil."""
    path, desc = v1_copy
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    repo = _open(fz, path)
    main = list(repo.ancestry(branch="main"))
    # a deleted tag's name is never reused, in either library
    for t in desc.deleted_tags:
        with pytest.raises(fz.AlreadyExistsError):
            repo.create_tag(t, main[-1].id)
    repo.create_branch("fz-branch", main[1].id)
    repo.create_tag("fz-tag", main[0].id)
    repo.delete_tag("fz-tag")
    repo.create_tag("fz-kept", main[1].id)
    with pytest.raises(fz.ConflictError):
        repo.reset_branch("fz-branch", main[0].id, from_snapshot_id=main[-1].id)
    repo.reset_branch("fz-branch", main[0].id, from_snapshot_id=main[1].id)
    irepo = _open(ice, path)
    assert irepo.list_branches() == repo.list_branches()
    assert irepo.list_tags() == repo.list_tags()
    assert "fz-tag" not in irepo.list_tags()
    assert irepo.lookup_branch("fz-branch") == main[0].id
    assert irepo.lookup_tag("fz-kept") == main[1].id
    with pytest.raises(ice.AlreadyExistsError):
        irepo.create_tag("fz-tag", main[0].id)
    repo.delete_branch("fz-branch")
    assert "fz-branch" not in _open(ice, path).list_branches()
    # time travel: as of each commit's time is that commit
    for snap in main:
        s = repo.readonly_session("main", as_of=snap.written_at)
        assert s.snapshot_id == snap.id
    # what icechunk refuses on v1, frazil refuses the same way
    for call in (repo.ops_log, repo.get_metadata):
        with pytest.raises(fz.FormatError) as e:
            call()
        assert e.value.kind == fz.ErrorKind.UNSUPPORTED_SPEC_VERSION


@pytest.mark.parametrize("writer,reader", ICECHUNK_FRAZIL)
def test_v1_virtual_refs_and_config(writer, reader, repo_path, tmp_path):
    """Virtual chunk refs and a persisted virtual chunk container (config.yaml) on v1."""
    w, r = load_lib(writer), load_lib(reader)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    payload = np.arange(40, dtype="<i4")
    (data_dir / "blob.bin").write_bytes(payload.tobytes())
    prefix = f"file://{data_dir}/"
    cfg = w.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(w.VirtualChunkContainer(prefix,
                                                            w.local_filesystem_store(str(data_dir))))
    repo = w.Repository.create(w.local_filesystem_storage(repo_path), config=cfg, spec_version=1,
                               authorize_virtual_chunk_access={prefix: None})
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(40,), chunks=(10,), dtype="<i4",
                      compressors=None, fill_value=0)
    for i in range(4):
        s.store.set_virtual_ref(f"v/c/{i}", f"{prefix}blob.bin", offset=40 * i, length=40)
    s.commit("virtual")
    assert os.path.exists(os.path.join(repo_path, "config.yaml"))
    persisted = r.Repository.fetch_config(r.local_filesystem_storage(repo_path))
    assert prefix in persisted.virtual_chunk_containers
    rrepo = r.Repository.open(r.local_filesystem_storage(repo_path),
                              authorize_virtual_chunk_access={prefix: None})
    arr = zarr.open_array(rrepo.readonly_session(branch="main").store, path="v", mode="r")
    np.testing.assert_array_equal(arr[:], payload)


def test_frazil_upgrades_icechunk_v1(v1_copy, tmp_path):
    """frazil upgrades an icechunk v1 repository: icechunk opens it as v2 with full
    history, branches and tags, and an ops log equal to the one icechunk builds."""
    path, desc = v1_copy
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    twin = str(tmp_path / "twin")
    shutil.copytree(path, twin)
    before = _files(path)
    # dry run: the same bytes, object for object
    out = fz.upgrade_icechunk_repository(_open(fz, path), dry_run=True)
    assert out.spec_version == 1
    assert _files(path) == before
    repo = _open(fz, path)
    new = fz.upgrade_icechunk_repository(repo, dry_run=False)
    assert new.spec_version == 2 and repo.spec_version == 2
    after = _files(path)
    # metadata only: every chunk, manifest, snapshot and tx log is untouched
    for key, data in before.items():
        if not key.startswith("refs/"):
            assert after[key] == data, key
    assert set(after) - set(before) == {"repo"}
    assert not any(k.startswith("refs/") for k in after)
    for lib in (ice, fz):
        assert lib.Repository.fetch_spec_version(lib.local_filesystem_storage(path)) == 2
        check_repository(path, desc, lib, ice)
    # the same ops log as icechunk's own upgrade, but for the upgrade's own time
    ice.upgrade_icechunk_repository(_open(ice, twin), dry_run=False)
    ours = [(u.kind, u.updated_at) for u in _open(ice, path).ops_log()]
    theirs = [(u.kind, u.updated_at) for u in _open(ice, twin).ops_log()]
    assert [type(k).__name__ for k, _ in ours] == [type(k).__name__ for k, _ in theirs]
    assert ours[1:] == theirs[1:]
    assert [u.kind for u in _open(fz, path).ops_log()][0] == "RepoMigrated"
    # both keep working on it
    for lib in (ice, fz):
        sid = _commit_on_top(lib, path, "dev", lib.__name__)
        assert _open(ice, path).lookup_branch("dev") == sid == _open(fz, path).lookup_branch("dev")


def test_frazil_reads_icechunk_upgraded(v1_copy):
    """icechunk upgrades its v1 repository; frazil reads it (v1 snapshot files included)."""
    path, desc = v1_copy
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    ice.upgrade_icechunk_repository(_open(ice, path), dry_run=False)
    check_repository(path, desc, fz, ice)
    assert [u.kind for u in _open(fz, path).ops_log()] == \
        [type(u.kind).__name__.removesuffix("Update") for u in _open(ice, path).ops_log()]
    sid = _commit_on_top(fz, path, "main", "frazil")
    assert _open(ice, path).lookup_branch("main") == sid


def test_upgrade_is_rerunnable_and_refuses_v2(v1_copy):
    """An upgrade interrupted before its v1 cleanup finishes on the next run; v2 is refused."""
    path, desc = v1_copy
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    fz.upgrade_icechunk_repository(_open(fz, path), dry_run=False, delete_unused_v1_files=False)
    files = _files(path)
    assert "repo" in files and any(k.startswith("refs/") for k in files)
    assert ice.Repository.fetch_spec_version(ice.local_filesystem_storage(path)) == 2
    check_repository(path, desc, ice, ice)
    # the re-run finds the repo file written and only deletes the v1 leftovers
    fz.upgrade_icechunk_repository(_open(fz, path), dry_run=False)
    files = _files(path)
    assert not any(k.startswith("refs/") for k in files)
    check_repository(path, desc, fz, ice)
    for lib in (ice, fz):
        with pytest.raises(lib.SessionStateError) as e:
            lib.upgrade_icechunk_repository(_open(lib, path), dry_run=True)
        assert "invalid repository version" in str(e.value)
        assert e.value.kind == lib.ErrorKind.INVALID_REPOSITORY_MIGRATION


def test_spec_version_api():
    ice, fz = load_lib("icechunk"), load_lib("frazil")
    assert [int(v) for v in fz.supported_spec_versions()] == \
        [int(v) for v in ice.supported_spec_versions()]
    assert fz.SpecVersion.v1 == 1 and fz.SpecVersion.v2 == 2
    assert fz.SpecVersion.current() == ice.SpecVersion.current() == 2
    assert fz.SpecVersion.v1 < fz.SpecVersion.v2
    st = fz.in_memory_storage()
    assert fz.Repository.create(st, spec_version=fz.SpecVersion.v1).spec_version == 1
    with pytest.raises(fz.InvalidInputError):
        fz.Repository.create(fz.in_memory_storage(), spec_version=3)


@pytest.mark.parametrize("upgrader", ["frazil", "icechunk"])
def test_upgrade_keeps_the_persisted_config(upgrader, repo_path):
    """A frazil v1 repository with a config.yaml, upgraded by either library: the config
    moves into the repo file, config.yaml goes, both libraries read the data."""
    ice, fz, up = load_lib("icechunk"), load_lib("frazil"), load_lib(upgrader)
    cfg = fz.RepositoryConfig(inline_chunk_threshold_bytes=7)
    repo = fz.Repository.create(fz.local_filesystem_storage(repo_path), config=cfg,
                                spec_version=1)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(6,), chunks=(2,), dtype="i2")[:] = np.arange(6)
    sid = s.commit("data")
    assert os.path.exists(os.path.join(repo_path, "config.yaml"))
    up.upgrade_icechunk_repository(_open(up, repo_path), dry_run=False)
    assert not os.path.exists(os.path.join(repo_path, "config.yaml"))
    for lib in (ice, fz):
        st = lib.local_filesystem_storage(repo_path)
        assert lib.Repository.fetch_spec_version(st) == 2
        assert lib.Repository.fetch_config(st).inline_chunk_threshold_bytes == 7
        r = lib.Repository.open(st)
        assert r.lookup_branch("main") == sid
        got = zarr.open_array(r.readonly_session(branch="main").store, path="a", mode="r")[:]
        np.testing.assert_array_equal(got, np.arange(6))
