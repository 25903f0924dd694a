"""Moves, shifts, reindexes and rectilinear grids: frazil and icechunk 2.3 both ways.

Each operation is done by one library and read by the other (tree, data,
attributes, node ids, history, transaction log); the same operations done by
each library on its own repository give the same result; the same bad
operation is refused by both with the same error class, code and keywords;
and rebasing over a move fails the same way whichever library committed it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import zarr
from _interop_support import LIBRARIES, load_lib
from frazil.format import codec

OTHER = {"icechunk": "frazil", "frazil": "icechunk"}


def open_repo(lib, path):
    return lib.Repository.open(lib.local_filesystem_storage(path))


def chunk_objects(path) -> set[str]:
    d = os.path.join(path, "chunks")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def tree(store) -> list[tuple[str, str]]:
    root = zarr.open_group(store, mode="r")
    return sorted((p, type(n).__name__) for p, n in root.members(max_depth=None))


def frazil_tx(path, sid):
    with open(os.path.join(path, "transactions", sid), "rb") as f:
        return codec.decode_transaction_log(f.read(), "tx")


def build_base(lib, path):
    repo = lib.Repository.create(lib.local_filesystem_storage(path))
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.create_group("my/old/path").attrs["k"] = "v"
    root.create_group("other")
    a = root.create_array("my/old/path/array", shape=(6, 8), chunks=(2, 2), dtype="i4",
                          fill_value=-1)
    a[:] = np.arange(48).reshape(6, 8)
    line = root.create_array("line", shape=(20,), chunks=(2,), dtype="i4", fill_value=-1)
    line[:] = np.arange(20)
    s.commit("base")
    return repo


def rearrange(repo):
    s = repo.rearrange_session("main")
    s.move("/my/old", "/my/new")
    s.move("/other", "/my/new/other")
    return s.commit("moves")


def shift_and_reindex(repo):
    s = repo.writable_session("main")
    s.shift_array("/my/new/path/array", [1, -1])
    s.reindex_array("/line", lambda c: [c[0] - 3] if c[0] >= 3 else None)
    status = s.status()
    return s.commit("shift+reindex"), status


EXPECTED_TREE = sorted([("line", "Array"), ("my", "Group"), ("my/new", "Group"),
                        ("my/new/other", "Group"), ("my/new/path", "Group"),
                        ("my/new/path/array", "Array")])


def expected_array() -> np.ndarray:
    src = np.arange(48).reshape(6, 8)
    out = np.full((6, 8), -1)
    out[2:, :6] = src[:4, 2:]
    return out


def expected_line() -> np.ndarray:
    return np.concatenate([np.arange(6, 20), np.arange(14, 20)])


@pytest.mark.parametrize("writer", LIBRARIES)
def test_operations_by_one_read_by_the_other(writer, tmp_path):
    wlib, rlib = load_lib(writer), load_lib(OTHER[writer])
    path = str(tmp_path / "repo")
    repo = build_base(wlib, path)
    ids = {p: repo.readonly_session("main").get_node_id(p)
           for p in ("/my/old", "/my/old/path/array", "/other")}
    before = chunk_objects(path)
    move_sid = rearrange(repo)
    shift_sid, _ = shift_and_reindex(repo)
    assert chunk_objects(path) == before, "a move, shift or reindex wrote chunk objects"

    reader = open_repo(rlib, path)
    ro = reader.readonly_session("main")
    assert tree(ro.store) == EXPECTED_TREE
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="my/new/path/array",
                                                  mode="r")[:], expected_array())
    np.testing.assert_array_equal(zarr.open_array(ro.store, path="line", mode="r")[:],
                                  expected_line())
    assert zarr.open_group(ro.store, path="my/new/path", mode="r").attrs["k"] == "v"
    assert ro.get_node_id("/my/new") == ids["/my/old"]
    assert ro.get_node_id("/my/new/path/array") == ids["/my/old/path/array"]
    assert ro.get_node_id("/my/new/other") == ids["/other"]
    assert [a.message for a in reader.ancestry(branch="main")][:3] == [
        "shift+reindex", "moves", "base"]
    old = reader.readonly_session(snapshot_id=[a.id for a in reader.ancestry(branch="main")][2])
    assert ("my/old/path/array", "Array") in tree(old.store)

    moves = [("/my/new/other", "/other"), ("/my/new", "/my/old"),
             ("/my/new/path", "/my/old/path"), ("/my/new/path/array", "/my/old/path/array")]
    moves = sorted(((b, a) for a, b in moves), key=lambda m: m[1].split("/"))
    tx = frazil_tx(path, move_sid)
    assert [(m.from_path, m.to_path) for m in tx.moved_nodes] == moves
    ic = load_lib("icechunk")
    ic_repo = open_repo(ic, path)
    inspected = ic_repo.inspect_transaction_log(move_sid)
    assert [(m["from"], m["to"]) for m in inspected["moved_nodes"]] == moves
    base_sid = [a.id for a in ic_repo.ancestry(branch="main")][2]
    diff = ic_repo.diff(from_snapshot_id=base_sid, to_snapshot_id=move_sid)
    assert diff.moved_nodes == moves
    shift_tx = ic_repo.inspect_transaction_log(shift_sid)
    assert not shift_tx["moved_nodes"] and len(shift_tx["updated_chunks"]) == 2
    assert len(frazil_tx(path, shift_sid).updated_chunks) == 2


def test_same_operations_same_result(tmp_path):
    results = {}
    for name in LIBRARIES:
        lib = load_lib(name)
        path = str(tmp_path / name)
        repo = build_base(lib, path)
        move_sid = rearrange(repo)
        shift_sid, status = shift_and_reindex(repo)
        ro = repo.readonly_session("main")
        chunks = {n: sorted(tuple(c) for c in v.tolist())
                  for n, v in frazil_tx(path, shift_sid).updated_chunks.items()}
        results[name] = (
            {p: sorted(map(list, c)) for p, c in status.updated_chunks.items()},
            str(status),
            tree(ro.store),
            zarr.open_array(ro.store, path="my/new/path/array", mode="r")[:].tolist(),
            zarr.open_array(ro.store, path="line", mode="r")[:].tolist(),
            [(m.from_path, m.to_path, m.is_array) for m in frazil_tx(path, move_sid).moved_nodes],
            sorted(chunks.values()),
        )
    assert results["frazil"] == results["icechunk"]


BAD_MOVES = [
    ("/nope", "/x", "node not found"),
    ("/my/old", "/my/old", "into itself or its own descendant"),
    ("/my", "/my/old/x", "into itself or its own descendant"),
    ("/", "/x", "into itself or its own descendant"),
    ("/my/old", "/other", "overwrite existing node"),
    ("/my/old", "/a/b/c", "destination's parent group"),
    ("/other", "/line/x", "is an array, not a group"),
    ("my/old", "/x", "must start with a `/`"),
]


def test_refusals_match(tmp_path):
    outcomes: dict[str, list[tuple[str, str, str]]] = {}
    for name in LIBRARIES:
        lib = load_lib(name)
        repo = build_base(lib, str(tmp_path / name))
        s = repo.rearrange_session("main")
        got = []
        for src, dst, words in BAD_MOVES:
            with pytest.raises(lib.IcechunkError) as e:
                s.move(src, dst)
            assert words in str(e.value), (name, src, dst, str(e.value))
            got.append((type(e.value).__name__, str(e.value.kind), words))
        assert not s.has_uncommitted_changes
        w = repo.writable_session("main")
        for op in (lambda: w.move("/my/old", "/my/new"),
                   lambda: repo.readonly_session("main").move("/my/old", "/my/new"),
                   lambda: zarr.group(s.store).create_group("zz"),
                   lambda: s.shift_array("/line", [1])):
            with pytest.raises(lib.IcechunkError) as e:
                op()
            got.append((type(e.value).__name__, str(e.value.kind), ""))
        outcomes[name] = got
    assert outcomes["frazil"] == outcomes["icechunk"]


@pytest.mark.parametrize("mover", LIBRARIES)
def test_rebase_over_a_move_fails_in_both(mover, tmp_path):
    path = str(tmp_path / "repo")
    build_base(load_lib(mover), path)
    mlib, wlib = load_lib(mover), load_lib(OTHER[mover])
    writer = open_repo(wlib, path).writable_session("main")
    zarr.group(writer.store).create_group("no-conflict")
    rearrange(open_repo(mlib, path))
    with pytest.raises(wlib.ConflictError):
        writer.commit("late")
    for solver in (wlib.ConflictDetector(), wlib.BasicConflictSolver()):
        with pytest.raises(wlib.RebaseFailedError) as e:
            writer.rebase(solver)
        assert [c.conflict_type for c in e.value.conflicts] == [
            wlib.ConflictType.MoveOperationCannotBeRebased]


@pytest.mark.parametrize("mover", LIBRARIES)
def test_move_rebases_over_the_others_edit(mover, tmp_path):
    path = str(tmp_path / "repo")
    build_base(load_lib(OTHER[mover]), path)
    mlib, elib = load_lib(mover), load_lib(OTHER[mover])
    s = open_repo(mlib, path).rearrange_session("main")
    s.move("/my/old", "/my/new")
    editor = open_repo(elib, path).writable_session("main")
    zarr.group(editor.store).create_group("my/old/child")
    editor.commit("child")
    s.commit("moved", rebase_with=mlib.ConflictDetector())
    for name in LIBRARIES:
        got = dict(tree(open_repo(load_lib(name), path).readonly_session("main").store))
        assert "my/new/child" in got and not any(p.startswith("my/old") for p in got), name


@pytest.mark.parametrize("writer", LIBRARIES)
def test_rectilinear_grid_both_ways(writer, tmp_path):
    wlib, rlib = load_lib(writer), load_lib(OTHER[writer])
    path = str(tmp_path / "repo")
    repo = wlib.Repository.create(wlib.local_filesystem_storage(path))
    s = repo.writable_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        a = zarr.create_array(s.store, name="r", shape=(10, 4), chunks=([1, 2, 3, 4], [2, 2]),
                              dtype="i4", fill_value=-1)
        a[:] = np.arange(40).reshape(10, 4)
    s.commit("rect")
    reader = open_repo(rlib, path)
    s = reader.writable_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        b = zarr.open_array(s.store, path="r")
        np.testing.assert_array_equal(b[:], np.arange(40).reshape(10, 4))
        b[6:10, 2:] = 0  # the reader writes the last chunk back
    with pytest.raises(rlib.IcechunkError, match="rectilinear"):
        s.shift_array("/r", [1, 0])
    s.commit("edit")
    expected = np.arange(40).reshape(10, 4)
    expected[6:10, 2:] = 0
    for lib in (wlib, rlib):
        with zarr.config.set({"array.rectilinear_chunks": True}):
            got = zarr.open_array(open_repo(lib, path).readonly_session("main").store,
                                  path="r", mode="r")[:]
        np.testing.assert_array_equal(got, expected)
    fr = open_repo(load_lib("frazil"), path).readonly_session("main")
    assert fr.get_node("/r").array.shape == ((10, 4), (4, 2))


def test_shift_and_reindex_refusals_match(tmp_path):
    outcomes = {}
    for name in LIBRARIES:
        lib = load_lib(name)
        repo = build_base(lib, str(tmp_path / name))
        s = repo.writable_session("main")
        got = []
        for op in (lambda: s.reindex_array("/line", lambda c: [c[0] + 100]),
                   lambda: s.reindex_array("/line", lambda c: 1 / 0),
                   lambda: s.shift_array("/nope", [1]),
                   lambda: s.shift_array("/my", [1])):
            with pytest.raises(lib.IcechunkError) as e:
                op()
            got.append((type(e.value).__name__, str(e.value.kind)))
        assert not s.has_uncommitted_changes
        outcomes[name] = got
    assert outcomes["frazil"] == outcomes["icechunk"]


def _random_case(rng):
    """A random hierarchy (groups and arrays) and a list of random move attempts."""
    groups, arrays = ["/"], []
    for i in range(rng.randint(3, 8)):
        parent = rng.choice(groups)
        path = (parent if parent != "/" else "") + f"/{'ga'[i % 2]}{i}"
        (groups if rng.random() < 0.6 else arrays).append(path)
    moves: list[tuple[str, str]] = []
    known = groups[1:] + arrays  # paths that exist now or did (moves reuse them)
    for _ in range(rng.randint(1, 7)):
        src = rng.choice(known) if known else "/"
        parent = rng.choice(["/"] + known)
        dst = rng.choice([(parent if parent != "/" else "") + f"/m{rng.randint(0, 3)}",
                          src + "_r", "/" + src.rsplit("/", 1)[1]])
        moves.append((src, dst))
        known.append(dst)
    return groups[1:], arrays, moves


def _run_case(lib, path, groups, arrays, moves):
    repo = lib.Repository.create(lib.local_filesystem_storage(path))
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    for g in groups:
        root.create_group(g.lstrip("/"))
    for a in arrays:
        root.create_array(a.lstrip("/"), shape=(2,), chunks=(1,), dtype="i1")[:] = [1, 2]
    s.commit("tree")
    s = repo.rearrange_session("main")
    outcome = []
    for src, dst in moves:
        try:
            s.move(src, dst)
            outcome.append("ok")
        except lib.IcechunkError as e:
            outcome.append(str(e.kind))
    status = list(s.status().moved_nodes)
    sid = s.commit("moves", allow_empty=True)
    moved = [(m.from_path, m.to_path, m.is_array) for m in frazil_tx(path, sid).moved_nodes]
    return outcome, status, moved, tree(repo.readonly_session("main").store)


@pytest.mark.parametrize("seed", range(24))
def test_random_move_sequences_agree(seed, tmp_path):

    groups, arrays, moves = _random_case(random.Random(seed))
    got = {name: _run_case(load_lib(name), str(tmp_path / name), groups, arrays, moves)
           for name in LIBRARIES}
    assert got["frazil"] == got["icechunk"], (groups, arrays, moves)
