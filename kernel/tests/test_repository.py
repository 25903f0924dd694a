"""Repository lifecycle, refs, history and metadata on local storage."""

from __future__ import annotations

import datetime as dt
import os

import frazil as ic
import numpy as np
import pytest
import zarr

INITIAL = "1CECHNKREP0F1RSTCMT0"


@pytest.fixture(params=[2, 1], ids=["spec2", "spec1"])
def spec_version(request):
    """Fresh repositories of this module are created in both spec versions."""
    return request.param


def _write(repo, branch="main", value=1.0, message="write"):
    s = repo.writable_session(branch)
    root = zarr.open_group(s.store, mode="a")
    if "x" not in root:
        root.create_array("x", shape=(8,), chunks=(4,), dtype="f8", fill_value=0)
    root["x"][:] = np.full(8, value)
    return s.commit(message)


def test_create_open_exists(repo_path, spec_version):
    st = ic.local_filesystem_storage(repo_path)
    assert not ic.Repository.exists(st)
    assert ic.Repository.fetch_spec_version(st) is None
    ic.Repository.create(st, spec_version=spec_version)
    assert ic.Repository.exists(st)
    assert ic.Repository.fetch_spec_version(st) == spec_version
    assert ic.Repository.fetch_spec_version(st) is ic.SpecVersion(spec_version)
    repo = ic.Repository.open(st)
    assert repo.spec_version == spec_version
    assert repo.list_branches() == {"main"}
    assert repo.lookup_branch("main") == INITIAL
    assert os.path.exists(os.path.join(repo_path, "snapshots", INITIAL))
    # v2 keeps everything in the repo file; v1 has a ref object per branch
    assert os.path.exists(os.path.join(repo_path, "repo")) == (spec_version == 2)
    assert os.path.exists(os.path.join(repo_path, "refs", "branch.main", "ref.json")) == \
        (spec_version == 1)
    assert os.path.exists(os.path.join(repo_path, "transactions", INITIAL)) == \
        (spec_version == 2)


def test_create_over_existing_and_open_missing(repo_path, tmp_path, spec_version):
    st = ic.local_filesystem_storage(repo_path)
    ic.Repository.create(st, spec_version=spec_version)
    # as icechunk: the clean-prefix check comes first (InvalidInputError); without it, the
    # repository that is there is refused
    for version in (None, 1):
        with pytest.raises(ic.InvalidInputError, match="a repository already exists") as e:
            ic.Repository.create(st, spec_version=version)
        assert e.value.kind == "parent-directory-not-clean"
        with pytest.raises(ic.AlreadyExistsError):
            ic.Repository.create(st, spec_version=version, check_clean_root=False)
    with pytest.raises(ic.RepositoryNotFoundError):
        ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "nothing")))
    other = tmp_path / "dirty"
    other.mkdir()
    (other / "stray.txt").write_text("x")
    with pytest.raises(ic.InvalidInputError):
        ic.Repository.create(ic.local_filesystem_storage(str(other)))
    # open_or_create opens the existing one
    assert ic.Repository.open_or_create(st).lookup_branch("main") == INITIAL


def test_branches(repo):
    sid = _write(repo)
    repo.create_branch("dev", sid)
    assert repo.list_branches() == {"main", "dev"}
    with pytest.raises(ic.AlreadyExistsError):
        repo.create_branch("dev", sid)
    with pytest.raises(ic.SnapshotNotFoundError):
        repo.create_branch("x", "AAAAAAAAAAAAAAAAAAA0")
    with pytest.raises(ic.InvalidInputError):
        repo.create_branch("x", "not-an-id")
    with pytest.raises(ic.InvalidInputError):
        repo.create_branch("", sid)
    repo.reset_branch("dev", INITIAL)
    assert repo.lookup_branch("dev") == INITIAL
    with pytest.raises(ic.ConflictError):
        repo.reset_branch("dev", sid, from_snapshot_id=sid)
    repo.reset_branch("dev", sid, from_snapshot_id=INITIAL)
    repo.delete_branch("dev")
    assert repo.list_branches() == {"main"}
    with pytest.raises(ic.SessionStateError):
        repo.delete_branch("main")
    with pytest.raises(ic.RefNotFoundError):
        repo.lookup_branch("dev")
    with pytest.raises(KeyError):  # NotFoundError is a KeyError
        repo.delete_branch("dev")


def test_tags_are_immutable_and_never_reused(repo):
    sid = _write(repo)
    repo.create_tag("v1", sid)
    assert repo.lookup_tag("v1") == sid
    with pytest.raises(ic.AlreadyExistsError):
        repo.create_tag("v1", INITIAL)
    repo.delete_tag("v1")
    assert repo.list_tags() == set()
    with pytest.raises(ic.AlreadyExistsError) as e:
        repo.create_tag("v1", sid)
    assert e.value.kind == "tag-previously-deleted"
    with pytest.raises(ic.RefNotFoundError):
        repo.lookup_tag("v1")
    with pytest.raises(ic.SnapshotNotFoundError):
        repo.create_tag("v2", "AAAAAAAAAAAAAAAAAAA0")


def test_commit_history_and_time_travel(repo):
    s1 = _write(repo, value=1.0, message="one")
    s2 = _write(repo, value=2.0, message="two")
    hist = list(repo.ancestry(branch="main"))
    assert [h.id for h in hist] == [s2, s1, INITIAL]
    assert [h.message for h in hist] == ["two", "one", "Repository initialized"]
    assert hist[0].parent_id == s1 and hist[-1].parent_id is None
    old = repo.readonly_session(snapshot_id=s1)
    np.testing.assert_array_equal(zarr.open_array(old.store, path="x", mode="r")[:], 1.0)
    new = repo.readonly_session(branch="main")
    np.testing.assert_array_equal(zarr.open_array(new.store, path="x", mode="r")[:], 2.0)
    t1 = repo.lookup_snapshot(s1).written_at
    asof = repo.readonly_session("main", as_of=t1 + dt.timedelta(microseconds=1))
    assert asof.snapshot_id == s1
    with pytest.raises(ic.SnapshotNotFoundError):
        repo.readonly_session("main", as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_commit_metadata_and_default_metadata(repo):
    repo.set_default_commit_metadata({"user": "alice"})
    s = repo.writable_session("main")
    zarr.create_group(s.store, path="g", attributes={"a": 1})
    sid = s.commit("with md", metadata={"n": 3, "nested": {"k": [1, "x", None]}})
    info = repo.lookup_snapshot(sid)
    assert info.metadata == {"user": "alice", "n": 3, "nested": {"k": [1, "x", None]}}


def test_session_state_rules(repo):
    s = repo.writable_session("main")
    assert not s.read_only and s.branch == "main"
    assert not s.has_uncommitted_changes
    with pytest.raises(ic.SessionStateError):
        s.commit("nothing")
    s.commit("empty ok", allow_empty=True)
    assert s.read_only
    with pytest.raises(ic.SessionStateError):
        s.commit("again", allow_empty=True)
    ro = repo.readonly_session(branch="main")
    with pytest.raises(ic.IcechunkError):
        ro.commit("x", allow_empty=True)
    with pytest.raises(ValueError):  # zarr refuses before calling the store
        zarr.create_group(ro.store, path="nope")
    from zarr.core.buffer import cpu
    from zarr.core.sync import sync as zsync

    with pytest.raises(ic.ReadOnlyError):
        zsync(ro.store.set("g/zarr.json", cpu.Buffer.from_bytes(b"{}")))
    with pytest.raises(ic.ReadOnlyError):
        ro.store.with_read_only(False)


def test_conflict_when_branch_moved(repo):
    a = repo.writable_session("main")
    b = repo.writable_session("main")
    zarr.create_group(a.store, path="ga")
    zarr.create_group(b.store, path="gb")
    sa = a.commit("a")
    with pytest.raises(ic.ConflictError) as e:
        b.commit("b")
    assert e.value.expected_parent == INITIAL
    assert e.value.actual_parent == sa
    assert repo.lookup_branch("main") == sa


def test_status_and_discard(repo):
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="a")
    root.create_array("x", shape=(4,), chunks=(2,), dtype="i4")[:] = 1
    st = s.status()
    assert st.new_arrays == {"/x"}
    assert sorted(st.updated_chunks["/x"]) == [[0], [1]]
    assert s.has_uncommitted_changes
    s.discard_changes()
    assert not s.has_uncommitted_changes


def test_repo_metadata_and_ops_log(repo, spec_version):
    if spec_version == 1:  # as icechunk: both need the v2 repo info file
        for call in (repo.get_metadata, repo.ops_log, lambda: repo.set_metadata({"a": 1})):
            with pytest.raises(ic.FormatError, match="at least version 2") as e:
                call()
            assert e.value.kind == ic.ErrorKind.UNSUPPORTED_SPEC_VERSION
        return
    repo.set_metadata({"project": "frazil"})
    assert repo.update_metadata({"owner": "me"}) == {"project": "frazil", "owner": "me"}
    assert repo.get_metadata() == {"project": "frazil", "owner": "me"}
    sid = _write(repo)
    repo.create_tag("t", sid)
    kinds = [u.kind for u in repo.ops_log()]
    assert kinds[:4] == ["TagCreated", "NewCommit", "MetadataChanged", "MetadataChanged"]
    assert kinds[-1] == "RepoInitialized"
    ups = list(repo.ops_log())
    assert ups[0].backup_path is None and ups[1].backup_path is not None


def test_config_persisted(repo_path, spec_version):
    st = ic.local_filesystem_storage(repo_path)
    ic.Repository.create(st, config=ic.RepositoryConfig(inline_chunk_threshold_bytes=64),
                         spec_version=spec_version)
    assert ic.Repository.fetch_config(st).inline_chunk_threshold_bytes == 64
    repo = ic.Repository.open(st)
    assert repo.config.inline_chunk_threshold_bytes == 64
    cfg = ic.RepositoryConfig(inline_chunk_threshold_bytes=10)
    repo2 = repo.reopen(config=cfg)
    assert repo2.config.inline_chunk_threshold_bytes == 10
    repo2.save_config()
    assert ic.Repository.fetch_config(st).inline_chunk_threshold_bytes == 10


def test_inline_vs_native_chunks(repo, repo_path):
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="a")
    small = root.create_array("small", shape=(4,), chunks=(4,), dtype="u1", compressors=None)
    small[:] = 7
    big = root.create_array("big", shape=(1000,), chunks=(500,), dtype="f8", compressors=None)
    big[:] = np.arange(1000)
    s.commit("mix")
    chunks = os.listdir(os.path.join(repo_path, "chunks"))
    assert len(chunks) == 2  # only the two big chunks are files
    ro = repo.readonly_session(branch="main")
    g = zarr.open_group(ro.store, mode="r")
    np.testing.assert_array_equal(g["small"][:], 7)
    np.testing.assert_array_equal(g["big"][:], np.arange(1000))


def test_resize_and_delete(repo):
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="a")
    a = root.create_array("a", shape=(10,), chunks=(2,), dtype="i4", fill_value=-1)
    a[:] = np.arange(10)
    root.create_group("sub").create_array("b", shape=(2,), chunks=(2,), dtype="i4")[:] = 5
    s.commit("init")
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="a")
    root["a"].resize((4,))
    del root["sub"]
    s.commit("shrink")
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="a")
    root["a"].resize((8,))
    s.commit("grow")
    ro = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    np.testing.assert_array_equal(ro["a"][:], [0, 1, 2, 3, -1, -1, -1, -1])
    assert "sub" not in ro
    assert sorted(ro.array_keys()) == ["a"]


def test_transaction_context_manager(repo):
    with repo.transaction("main", message="tx") as store:
        zarr.create_group(store, path="t")
    assert next(iter(repo.ancestry(branch="main"))).message == "tx"


def test_invalid_refs_in_sessions(repo):
    with pytest.raises(ic.RefNotFoundError):
        repo.readonly_session(branch="nope")
    with pytest.raises(ic.RefNotFoundError):
        repo.readonly_session(tag="nope")
    with pytest.raises(ic.SnapshotNotFoundError):
        repo.readonly_session(snapshot_id="AAAAAAAAAAAAAAAAAAA0")
    with pytest.raises(ic.RefNotFoundError):
        repo.writable_session("nope")


def test_writable_session_on_read_only_storage_is_refused_up_front():
    """As icechunk: a read-only storage (HTTP, weak-consistency Tigris) gives no writable
    session at all, rather than failing at the first write or at commit."""
    from frazil.storage import InMemoryStorage

    class ReadOnlyMemory(InMemoryStorage):
        @property
        def can_write(self) -> bool:
            return not self._frozen

    storage = ReadOnlyMemory()
    storage._frozen = False  # writable while the repository is created
    repo = ic.Repository.create(storage)
    storage._frozen = True
    with pytest.raises(ic.ReadOnlyError, match="read-only"):
        repo.writable_session("main")
    assert repo.readonly_session("main").snapshot_id == repo.lookup_branch("main")


def test_repository_pickles_with_its_handle_settings(tmp_path, spec_version):
    import pickle

    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "r")),
                                authorize_virtual_chunk_access={"file:///d/": None},
                                spec_version=spec_version)
    repo.set_default_commit_metadata({"author": "me"})
    back = pickle.loads(pickle.dumps(repo))
    assert back.list_branches() == {"main"}
    assert back.default_commit_metadata() == {"author": "me"}
    assert back.authorized_virtual_container_prefixes == {"file:///d/"}
    assert back.spec_version == spec_version


def test_ancestry_repeated_follows_history_and_copies_metadata(repo_path, spec_version):
    """Repeated ancestry calls (served from the remembered walk) track every change."""
    repo = ic.Repository.create(ic.local_filesystem_storage(repo_path), spec_version=spec_version)
    s = repo.writable_session("main")
    zarr.open_group(s.store, mode="a").create_array("x", shape=(4,), chunks=(2,), dtype="i4")
    first = s.commit("one", metadata={"k": [1]})
    for _ in range(2):
        hist = list(repo.ancestry(branch="main"))
        assert [h.message for h in hist] == ["one", "Repository initialized"]
        hist[0].metadata["k"].append(2)  # a caller's copy: the next call is unaffected
    assert list(repo.ancestry(branch="main"))[0].metadata == {"k": [1]}
    second = _write(repo, message="two")
    fresh = ic.Repository.open(ic.local_filesystem_storage(repo_path))
    assert [h.id for h in fresh.ancestry(branch="main")] == [second, first, INITIAL]
    repo.reset_branch("main", first)
    assert [h.id for h in repo.ancestry(branch="main")] == [first, INITIAL]
    assert [h.id for h in repo.ancestry(snapshot_id=second)] == [second, first, INITIAL]


def test_ancestry_items_are_ordinary_snapshot_infos(repo_path):
    """Ancestry builds SnapshotInfo without its __init__: equal, hashable, frozen, same repr."""
    import dataclasses

    from frazil.snapshots import SnapshotInfo

    repo = ic.Repository.create(ic.local_filesystem_storage(repo_path))
    _write(repo, message="one")
    for h in repo.ancestry(branch="main"):
        same = SnapshotInfo(h.id, h.parent_id, h.written_at, h.message, dict(h.metadata))
        assert h == same and hash(h) == hash(same) and repr(h) == repr(same)
        assert type(h) is SnapshotInfo and h.metadata == same.metadata
        with pytest.raises(dataclasses.FrozenInstanceError):
            h.message = "changed"  # type: ignore[misc]
