"""Pickling rules and fork/merge sessions, as icechunk 2.3 has them.

Repository, read-only sessions, forks and their stores pickle; a plain
writable session (and its store) refuses, pointing to ``fork()``; in-memory
data never leaves its process. Forks are based on an anonymous snapshot that
carries the parent's uncommitted edits, write but cannot commit, and merge
back. Cross-process and icechunk interop: ``tests/test_distributed_interop.py``.
"""

from __future__ import annotations

import os
import pickle

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil.distributed import extract_session, merge_sessions


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def _committed_array(repo, shape=(8,), chunks=(2,)):
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=shape, chunks=chunks, dtype="i4",
                          fill_value=0)
    a[:] = np.arange(int(np.prod(shape)), dtype="i4").reshape(shape)
    s.commit("array")


def test_readonly_session_and_store_pickle_and_read(repo):
    _committed_array(repo)
    ro = repo.readonly_session("main")
    back = _roundtrip(ro)
    assert type(back) is ic.Session and back.read_only and back.snapshot_id == ro.snapshot_id
    assert back.branch is None
    np.testing.assert_array_equal(zarr.open_array(back.store, path="a", mode="r")[:],
                                  np.arange(8))
    store = _roundtrip(ro.store)
    assert isinstance(store, ic.IcechunkStore) and store.read_only
    assert store.session.store is store
    np.testing.assert_array_equal(zarr.open_array(store, path="a", mode="r")[:], np.arange(8))


def test_writable_session_refuses_to_pickle_pointing_to_fork(repo):
    s = repo.writable_session("main")
    for obj in (s, s.store):  # untouched or not, as icechunk
        with pytest.raises(ValueError, match=r"Session\.fork\(\)"):
            pickle.dumps(obj)
    zarr.create_group(s.store)
    with pytest.raises(ValueError, match="fork"):
        pickle.dumps(s.store)
    s.commit("root")
    assert _roundtrip(s).read_only  # committed sessions are read-only: they travel


def test_in_memory_data_never_leaves_the_process():
    storage = ic.in_memory_storage()
    with pytest.raises(TypeError, match="cannot pickle 'InMemoryStorage'"):
        pickle.dumps(storage)
    repo = ic.Repository.create(storage)
    _committed_array(repo)
    back = _roundtrip(repo)  # the handle pickles, its data does not (icechunk's rule)
    with pytest.raises(ic.RepositoryNotFoundError):
        back.list_branches()
    assert repo.list_branches() == {"main"}


def test_handle_settings_survive_pickling(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "blob.bin").write_bytes(np.arange(4, dtype="<i4").tobytes())
    prefix = f"file://{d}/"
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix,
                                                             ic.local_filesystem_store(str(d))))
    creds = ic.containers_credentials({prefix: None})
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "r")), config=cfg,
                                authorize_virtual_chunk_access=creds)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(4,), chunks=(4,), dtype="<i4",
                      compressors=None, fill_value=-1)
    s.store.set_virtual_ref("v/c/0", f"{prefix}blob.bin", offset=0, length=16)
    s.commit("virtual")
    back = _roundtrip(repo.readonly_session("main"))
    assert list(back.config.virtual_chunk_containers) == [prefix]
    assert back._repo.authorized_virtual_container_prefixes == {prefix}
    np.testing.assert_array_equal(zarr.open_array(back.store, path="v", mode="r")[:],
                                  np.arange(4))


def test_dirty_fork_sees_new_arrays_and_resizes(repo, repo_path):
    _committed_array(repo)
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a").resize((12,))
    zarr.open_array(s.store, path="a")[0:2] = [-5, -6]  # a chunk edit of the parent
    zarr.create_array(s.store, name="b", shape=(4,), chunks=(2,), dtype="i4", fill_value=7)
    before = set(os.listdir(os.path.join(repo_path, "snapshots")))
    tip = repo.lookup_branch("main")
    fork = s.fork()
    assert isinstance(fork, ic.ForkSession) and not fork.read_only and fork.branch is None
    # icechunk 2.3 says so too
    assert fork.mode == ic.SessionMode.readonly and s.mode == ic.SessionMode.writable
    assert not fork.has_uncommitted_changes and s.has_uncommitted_changes
    # an anonymous snapshot: written, but no branch moved
    assert set(os.listdir(os.path.join(repo_path, "snapshots"))) - before == {fork.snapshot_id}
    assert repo.lookup_branch("main") == tip and fork.snapshot_id != s.snapshot_id
    worker = _roundtrip(fork)
    a = zarr.open_array(worker.store, path="a")
    assert a.shape == (12,)
    a[8:12] = [80, 81, 82, 83]
    zarr.open_array(worker.store, path="b")[0:2] = [1, 2]
    back = _roundtrip(worker)
    s.merge(back)
    assert s.status().updated_chunks["/a"] == [[0], [4], [5]]
    s.commit("merged")
    ro = repo.readonly_session("main")
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="a", mode="r")[:],
                                  [-5, -6, *range(2, 8), 80, 81, 82, 83])
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="b", mode="r")[:],
                                  [1, 2, 7, 7])


def test_clean_fork_shares_the_base_and_forks_cannot_commit(repo):
    _committed_array(repo)
    s = repo.writable_session("main")
    fork = s.fork()
    assert fork.snapshot_id == s.snapshot_id
    with pytest.raises(ic.SessionStateError, match="merge forked sessions back"):
        fork.commit("no")
    with pytest.raises(ic.IcechunkError, match="cannot flush a forked session"):
        fork.flush("no")
    with pytest.raises(ic.SessionStateError, match="cannot fork a read-only session"):
        repo.readonly_session("main").fork()
    with pytest.raises(ic.IcechunkError):
        repo.readonly_session("main").merge(fork)


def test_forks_merge_disjoint_writes_and_node_edits(repo):
    _committed_array(repo)
    s = repo.writable_session("main")
    zarr.create_group(s.store, path="tmp")
    forks = [s.fork() for _ in range(3)]
    for i, f in enumerate(forks[:2]):
        w = _roundtrip(f)
        zarr.open_array(w.store, path="a")[4 * i:4 * i + 4] = 100 + i
        forks[i] = _roundtrip(w)
    w = _roundtrip(forks[2])
    w.delete_node("/tmp")  # created by the parent, deleted by a worker
    zarr.create_array(w.store, name="new", shape=(2,), chunks=(2,), dtype="i4", fill_value=3)
    forks[2] = _roundtrip(w)
    merged = merge_sessions(forks[0], [forks[1], [forks[2], forks[0]]])
    assert merged is forks[0]
    s.merge(merged)
    assert s.get_node("/tmp") is None and "/tmp" not in s.status().deleted_groups
    s.commit("three forks")
    ro = repo.readonly_session("main")
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="a", mode="r")[:],
                                  [100] * 4 + [101] * 4)
    assert zarr.open_array(ro.store, path="new", mode="r")[:].tolist() == [3, 3]
    with pytest.raises(TypeError, match="only accepts ForkSession"):
        merge_sessions(repo.writable_session("main"))
    arr = zarr.open_array(ro.store, path="a", mode="r")
    assert extract_session(arr).snapshot_id == ro.snapshot_id
