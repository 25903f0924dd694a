"""Rearrange sessions (move), shift_array / reindex_array and rectilinear chunk grids.

Everything here is metadata-only: each test that moves, shifts or reindexes
lists the repository's ``chunks/`` before and after and checks nothing was
written there. Interop with icechunk 2.3 is in ``tests/test_rearrange_interop.py``.
"""

from __future__ import annotations

import json
import os
import pickle

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil._moves import merge_moves
from frazil._reindex import check_grid_for_spec_1
from frazil.format import codec
from frazil.format.ids import NodeId
from frazil.format.model import MoveOperation
from frazil.snapshots import Diff


def chunk_objects(repo_path: str) -> set[str]:
    d = os.path.join(repo_path, "chunks")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def tx_log(repo_path: str, sid: str):
    with open(os.path.join(repo_path, "transactions", sid), "rb") as f:
        return codec.decode_transaction_log(f.read(), "tx")


def tree(store) -> list[tuple[str, str]]:
    root = zarr.open_group(store, mode="r")
    return sorted((p, type(n).__name__) for p, n in root.members(max_depth=None))


@pytest.fixture
def base(repo, repo_path):
    """/my/old/path/array (10x10 of 2x2 chunks, written), /other group, /arr array."""
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.create_group("my/old/path").attrs["k"] = "v"
    root.create_group("other")
    a = root.create_array("my/old/path/array", shape=(10, 10), chunks=(2, 2), dtype="i4",
                          fill_value=42)
    a[:] = np.arange(100).reshape(10, 10)
    root.create_array("arr", shape=(4,), chunks=(2,), dtype="i4")
    s.commit("init")
    return repo


# ------------------------------------------------------------------ moves
def test_move_subtree_keeps_ids_data_and_writes_no_chunk(base, repo_path):
    ro = base.readonly_session("main")
    ids = {p: ro.get_node_id(p) for p in ("/my/old", "/my/old/path", "/my/old/path/array")}
    before = chunk_objects(repo_path)
    s = base.rearrange_session("main")
    assert s.mode == ic.SessionMode.rearrange and not s.has_uncommitted_changes
    s.move("/my/old", "/my/new")
    assert s.has_uncommitted_changes
    assert ("my/new/path/array", "Array") in tree(s.store)
    assert not any(p.startswith("my/old") for p, _ in tree(s.store))
    expected = [("/my/old", "/my/new"), ("/my/old/path", "/my/new/path"),
                ("/my/old/path/array", "/my/new/path/array")]
    assert s.status().moved_nodes == expected
    assert str(s.status()) == ("Nodes moved/renamed:\n" + "".join(
        f"    {a} -> {b}\n" for a, b in expected) + "\n")
    sid = s.commit("renamed")
    assert chunk_objects(repo_path) == before
    ro = base.readonly_session("main")
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="my/new/path/array")[:],
                                  np.arange(100).reshape(10, 10))
    assert zarr.open_group(ro.store, path="my/new/path", mode="r").attrs["k"] == "v"
    for old, new in expected:
        assert ro.get_node_id(new) == ids[old]
    tx = tx_log(repo_path, sid)
    assert [(m.from_path, m.to_path, m.is_array) for m in tx.moved_nodes] == [
        (a, b, b.endswith("array")) for a, b in expected]
    assert not (tx.new_groups or tx.new_arrays or tx.deleted_groups or tx.deleted_arrays
                or tx.updated_groups or tx.updated_arrays or tx.updated_chunks)


def test_chained_moves_collapse_per_node(base, repo_path):
    s = base.rearrange_session("main")
    s.move("/my/old/path", "/other/path")      # /my/old/path -> /other/path
    s.move("/other", "/renamed")               # carries /other/path along
    s.move("/my", "/other")                    # into the path /other vacated
    s.move("/arr", "/tmp_arr")
    s.move("/tmp_arr", "/arr")                 # back home: no record for /arr
    sid = s.commit("chain")
    moves = [(m.from_path, m.to_path) for m in tx_log(repo_path, sid).moved_nodes]
    assert moves == [("/my", "/other"), ("/my/old", "/other/old"),
                     ("/other", "/renamed"), ("/my/old/path", "/renamed/path"),
                     ("/my/old/path/array", "/renamed/path/array")]
    got = tree(base.readonly_session("main").store)
    assert got == sorted([("arr", "Array"), ("other", "Group"), ("other/old", "Group"),
                          ("renamed", "Group"), ("renamed/path", "Group"),
                          ("renamed/path/array", "Array")])


@pytest.mark.parametrize(("src", "dst", "cls", "kind", "words"), [
    ("/nope", "/x", ic.NodeNotFoundError, "node-not-found", "node not found"),
    ("/my/old", "/my/old", ic.SessionStateError, "move-into-self-or-descendant",
     "into itself or its own descendant"),
    ("/my", "/my/old/x", ic.SessionStateError, "move-into-self-or-descendant",
     "into itself or its own descendant"),
    ("/", "/x", ic.SessionStateError, "move-into-self-or-descendant", "into itself"),
    ("/my/old", "/other", ic.AlreadyExistsError, "move-wont-overwrite",
     "overwrite existing node"),
    ("/my/old", "/a/b/c", ic.SessionStateError, "move-destination-parent-missing",
     "destination's parent group"),
    ("/other", "/arr/x", ic.SessionStateError, "move-destination-parent-not-group",
     "is an array, not a group"),
    ("my/old", "/x", ic.InvalidInputError, "invalid-path", "must start with a `/`"),
])
def test_refused_moves_change_nothing(base, src, dst, cls, kind, words):
    s = base.rearrange_session("main")
    before = tree(s.store)
    with pytest.raises(cls, match=words) as e:
        s.move(src, dst)
    assert e.value.kind == kind
    assert not s.has_uncommitted_changes and s.status().is_empty()
    assert tree(s.store) == before


def test_moves_need_a_rearrange_session_and_it_allows_nothing_else(base):
    w = base.writable_session("main")
    with pytest.raises(ic.SessionStateError) as e:
        w.move("/my/old", "/my/new")
    assert e.value.kind == "non-rearrange-session"
    with pytest.raises(ic.NodeNotFoundError):  # a bad move is reported first, as icechunk
        w.move("/nope", "/my/new")
    with pytest.raises(ic.ReadOnlyError):
        base.readonly_session("main").move("/my/old", "/my/new")
    s = base.rearrange_session("main")
    s.move("/other", "/other2")
    for write in (lambda: zarr.group(s.store).create_group("zz"),
                  lambda: zarr.open_array(s.store, path="arr").__setitem__(0, 1),
                  lambda: s.shift_array("/arr", [1]),
                  lambda: s.reindex_array("/arr", lambda c: c),
                  lambda: zarr.open_group(s.store).attrs.__setitem__("a", 1)):
        with pytest.raises(ic.SessionStateError) as e:
            write()
        assert e.value.kind == "rearrange-session-only"
    s.discard_changes()
    assert s.mode == ic.SessionMode.rearrange and not s.has_uncommitted_changes
    s.move("/other", "/other3")
    with pytest.raises(ic.RefNotFoundError):
        base.rearrange_session("no-such-branch")


def test_rearrange_change_set_pickles(base):
    s = base.rearrange_session("main")
    s.move("/my/old", "/my/new")
    cs = pickle.loads(pickle.dumps(s.changes))
    assert cs.tracker == s.changes.tracker
    assert [n.path for n in cs.nodes(s._base_nodes)] == [n.path for n in s.list_nodes()]


# ------------------------------------------------------- rebase and conflicts
def test_edit_session_cannot_rebase_over_a_move(base):
    mover = base.rearrange_session("main")
    mover.move("/my/old/path", "/other/path")
    writer = base.writable_session("main")
    zarr.group(writer.store).create_group("no-conflict")
    mover.commit("moved")
    with pytest.raises(ic.ConflictError):
        writer.commit("late")
    with pytest.raises(ic.RebaseFailedError) as e:
        writer.rebase(ic.ConflictDetector())
    assert [c.conflict_type for c in e.value.conflicts] == [
        ic.ConflictType.MoveOperationCannotBeRebased]


def test_move_session_rebases_over_edits_and_carries_new_children(base):
    mover = base.rearrange_session("main")
    mover.move("/my/old", "/my/new")
    writer = base.writable_session("main")
    zarr.group(writer.store).create_group("my/old/child")
    writer.commit("child")
    mover.commit("moved", rebase_with=ic.ConflictDetector())
    got = dict(tree(base.readonly_session("main").store))
    assert "my/new/child" in got and not any(p.startswith("my/old") for p in got)


def test_move_session_cannot_rebase_over_a_move(base):
    a = base.rearrange_session("main")
    a.move("/other", "/o2")
    b = base.rearrange_session("main")
    b.move("/arr", "/a2")
    a.commit("a")
    with pytest.raises(ic.RebaseFailedError) as e:
        b.commit("b", rebase_with=ic.ConflictDetector())
    assert e.value.conflicts[0].conflict_type == ic.ConflictType.MoveOperationCannotBeRebased


# ------------------------------------------------------------ shift / reindex
@pytest.fixture
def line(repo):
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=(50,), chunks=(2,), dtype="i4",
                          fill_value=-1)
    a[:] = np.arange(50)
    s.commit("line")
    return repo


def test_shift_left_right_and_commit_writes_no_chunk(line, repo_path):
    before = chunk_objects(repo_path)
    s = line.writable_session("main")
    s.shift_array("/a", (-4,))
    a = zarr.open_array(s.store, path="a")
    np.testing.assert_array_equal(a[:42], np.arange(8, 50))
    np.testing.assert_array_equal(a[42:], -1)
    s.shift_array("/a", [4])
    np.testing.assert_array_equal(a[:8], -1)
    np.testing.assert_array_equal(a[8:], np.arange(8, 50))  # 21..24 came back from 17..20
    sid = s.commit("shifted")
    assert chunk_objects(repo_path) == before
    tx = tx_log(repo_path, sid)
    assert len(tx.updated_chunks) == 1 and not tx.moved_nodes
    ro = zarr.open_array(line.readonly_session("main").store, path="a", mode="r")
    np.testing.assert_array_equal(ro[8:], np.arange(8, 50))


def test_shift_2d_missing_chunks_and_resize(repo):
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="b", shape=(4, 4), chunks=(2, 2), dtype="i4",
                          fill_value=-1)
    a[:2, :] = np.arange(8).reshape(2, 4)  # chunk row 1 left empty
    s.commit("init")
    s = repo.writable_session("main")
    s.shift_array("/b", (1, 0))
    a = zarr.open_array(s.store, path="b")
    np.testing.assert_array_equal(a[:2], -1)
    np.testing.assert_array_equal(a[2:], np.arange(8).reshape(2, 4))
    a.resize((6, 4))
    s.shift_array("/b", [1, 0])
    np.testing.assert_array_equal(a[4:], np.arange(8).reshape(2, 4))
    np.testing.assert_array_equal(a[:4], -1)
    s.shift_array("/b", [0, 0])
    assert s.status().updated_chunks


def test_shift_refusals(line):
    s = line.writable_session("main")
    with pytest.raises(ic.InvalidInputError):
        s.shift_array("/a", [1, 2])
    with pytest.raises(ic.NodeNotFoundError):
        s.shift_array("/nope", [1])
    with pytest.raises(ic.InvalidInputError):
        s.shift_array("/", [1])
    assert not s.has_uncommitted_changes


def test_reindex_forward_only_and_with_backward(line, repo_path):
    before = chunk_objects(repo_path)
    s = line.writable_session("main")
    s.reindex_array("/a", lambda c: [c[0] - 4] if c[0] >= 4 else None)
    a = zarr.open_array(s.store, path="a")
    np.testing.assert_array_equal(a[:42], np.arange(8, 50))
    np.testing.assert_array_equal(a[42:], np.arange(42, 50))  # stale: forward only
    s.discard_changes()

    def fwd(c):
        return [c[0] - 4] if 0 <= c[0] - 4 < 25 else None

    def bwd(c):
        return [c[0] + 4] if 0 <= c[0] + 4 < 25 else None

    s.reindex_array("/a", forward=fwd, backward=bwd)
    np.testing.assert_array_equal(a[:42], np.arange(8, 50))
    np.testing.assert_array_equal(a[42:], -1)
    s.commit("reindexed")
    assert chunk_objects(repo_path) == before


def test_reindex_errors_leave_the_session_untouched(line):
    s = line.writable_session("main")
    for fn, err in ((lambda c: [c[0] + 100], ic.InvalidInputError),
                    (lambda c: [-1], ic.InvalidInputError),
                    (lambda c: [1, 2], ic.InvalidInputError),
                    (lambda c: 1 / 0, ic.IcechunkError)):
        with pytest.raises(err):
            s.reindex_array("/a", fn)
    assert not s.has_uncommitted_changes


# ----------------------------------------------------------- rectilinear grids
def rect_meta(shape, chunk_shapes) -> bytes:
    return json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": shape, "data_type": "int32",
        "chunk_grid": {"name": "rectilinear",
                       "configuration": {"kind": "inline", "chunk_shapes": chunk_shapes}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": {}}).encode()


def test_rectilinear_chunk_counts(repo):
    s = repo.writable_session("main")
    s.set_node_metadata("/r", rect_meta(
        [6, 6, 6, 6, 6, 6, 0], [[2, 2, 2], [[2, 3]], [[1, 6]], [1, [2, 1], 3], [[1, 3], 3],
                                [6], [1, 2, 3]]))
    assert [n for _, n in s.get_node("/r").array.shape] == [3, 3, 6, 3, 4, 1, 3]
    for bad in ([3], [[1, "x"]], [[[1]]]):
        with pytest.raises(ic.InvalidInputError, match="chunk_shapes"):
            s.set_node_metadata("/bad", rect_meta([6], bad))


def test_rectilinear_written_by_zarr_reads_back_and_refuses_shift(repo):
    s = repo.writable_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        a = zarr.create_array(s.store, name="r", shape=(10,), chunks=([1, 2, 3, 4],),
                              dtype="i4", fill_value=-1)
        a[:] = np.arange(10)
    assert sorted(ic._sync.sync(s.chunk_coordinates_async("/r"))) == [(0,), (1,), (2,), (3,)]
    s.commit("rect")
    s = repo.writable_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        np.testing.assert_array_equal(zarr.open_array(s.store, path="r")[:], np.arange(10))
    with pytest.raises(ic.IcechunkError, match="rectilinear"):
        s.shift_array("/r", [1])
    with pytest.raises(ic.IcechunkError, match="rectilinear"):
        s.reindex_array("/r", lambda c: c)
    assert not s.has_uncommitted_changes


def test_diff_text_sections():
    diff = Diff(new_groups={"/b", "/a/c", "/a"}, updated_chunks={"/x": [[i] for i in range(12)]},
                moved_nodes=[("/p", "/q")])
    text = str(diff)
    assert text.startswith("Groups created:\n    /a\n    /a/c\n    /b\n\n")
    assert "    /x:\n        [0]\n" in text and "        ... 2 more\n" in text
    assert text.endswith("Nodes moved/renamed:\n    /p -> /q\n\n")


def test_shift_batches_compose_with_writes_rebase_and_pickle(line, repo_path):
    s = line.writable_session("main")
    s.shift_array("/a", [2])                   # columnar refs in the change set
    a = zarr.open_array(s.store, path="a")
    a[4:6] = [100, 101]                        # a write over a shifted chunk wins
    s.shift_array("/a", [-1])                  # a shift of a shift
    expected = np.concatenate([[-1, -1, 100, 101], np.arange(2, 46), [-1, -1]])
    np.testing.assert_array_equal(a[:], expected)
    assert sorted(ic._sync.sync(s.chunk_coordinates_async("/a"))) == [(i,) for i in range(1, 24)]
    cs = pickle.loads(pickle.dumps(s.changes))
    assert cs.changed_coords(s.get_node("/a").id).tolist() == \
        s.changes.changed_coords(s.get_node("/a").id).tolist()
    other = line.writable_session("main")
    zarr.group(other.store).attrs["x"] = 1
    other.commit("attrs")
    s.commit("shifted twice", rebase_with=ic.ConflictDetector())   # batches materialised
    got = zarr.open_array(line.readonly_session("main").store, path="a", mode="r")[:]
    np.testing.assert_array_equal(got, expected)


def test_shift_over_split_manifests(repo_path):
    config = ic.RepositoryConfig._from_dict({"manifest": {"splitting": {"split_sizes": [
        ["any_array", [{"condition": "Any", "num_chunks": 3}]]]}}})
    repo = ic.Repository.create(ic.local_filesystem_storage(repo_path), config)
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=(20,), chunks=(2,), dtype="i4",
                          fill_value=-1)
    a[:] = np.arange(20)
    s.commit("split")
    assert len(repo.readonly_session("main").get_node("/a").array.manifests) > 1
    s = repo.writable_session("main")
    s.shift_array("/a", [-3])
    s.commit("shift")
    got = zarr.open_array(repo.readonly_session("main").store, path="a", mode="r")[:]
    np.testing.assert_array_equal(got, np.concatenate([np.arange(6, 20), np.full(6, -1)]))


def test_merge_moves_collapses_chains_per_node():
    a, b, c = NodeId.random(), NodeId.random(), NodeId.random()
    first = [MoveOperation("/x", "/y", a, False), MoveOperation("/p", "/q", b, True)]
    second = [MoveOperation("/y", "/z", a, False), MoveOperation("/q", "/p", b, True),
              MoveOperation("/m", "/c/a", c, True)]
    assert merge_moves([first, second]) == [MoveOperation("/m", "/c/a", c, True),
                                            MoveOperation("/x", "/z", a, False)]


def test_spec_1_refuses_rectilinear_grids():
    check_grid_for_spec_1({"chunk_grid": {"name": "regular"}}, "/a")
    with pytest.raises(ic.InvalidInputError, match="format version 1") as e:
        check_grid_for_spec_1(json.loads(rect_meta([3], [[1, 2]])), "/r")
    assert e.value.kind == "bad-metadata"


def test_shift_virtual_refs_pending_and_committed(tmp_path):
    """Virtual refs (pending columnar batch, then committed) shift like any other ref."""
    d = tmp_path / "data"
    d.mkdir()
    values = np.arange(40, dtype="<i4")
    (d / "blob.bin").write_bytes(values.tobytes())
    prefix = f"file://{d}/"
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix,
                                                             ic.local_filesystem_store(str(d))))
    path = str(tmp_path / "repo")
    repo = ic.Repository.create(ic.local_filesystem_storage(path), config=cfg,
                                authorize_virtual_chunk_access={prefix: None})
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(40,), chunks=(10,), dtype="<i4",
                      compressors=None, fill_value=-1)
    s.store.set_virtual_refs_arr("v", (4,), [f"{prefix}blob.bin"] * 4,
                                 np.arange(4, dtype=np.uint64) * 40,
                                 np.full(4, 40, np.uint64))
    s.shift_array("/v", [1])                   # over the pending columnar batch
    expected = np.concatenate([np.full(10, -1), values[:30]])
    np.testing.assert_array_equal(zarr.open_array(s.store, path="v")[:], expected)
    s.commit("virtual")
    assert chunk_objects(path) == set()
    s = repo.writable_session("main")
    s.shift_array("/v", [-2])                  # over committed virtual refs
    assert s.chunk_type("/v", [0]) == ic.ChunkType.virtual
    s.commit("back")
    got = zarr.open_array(repo.readonly_session("main").store, path="v", mode="r")[:]
    np.testing.assert_array_equal(got, np.concatenate([values[10:30], np.full(20, -1)]))
    assert chunk_objects(path) == set()
