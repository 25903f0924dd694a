"""The kernel's seams: public errors, ChangeSet, the state layer, generated sync facades."""

from __future__ import annotations

import ast
import inspect
import pickle
from pathlib import Path

import frazil
import frazil.errors as fe
import numpy as np
import pytest
import zarr
from frazil._chunkrefs import VirtualBatch
from frazil._file_resolver import FileResolver
from frazil._state import RepoInfoFileState, walk_records
from frazil.changeset import UNCHANGED, ChangeSet
from frazil.format import codec
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import NodeSnapshot
from frazil.plugins import PluginConflictError, PluginNotFoundError
from frazil.types import InlineChunkRef, NativeChunkRef, VirtualChunkRef
from frazil.virtual import SupportsObjectMetadata, VirtualChunkResolver

KERNEL = Path(frazil.__file__).parent
SOURCES = [KERNEL, *(Path(__file__).resolve().parents[2] / d for d in
                     ("storage-s3/src", "conflict-solvers/src", "plugins"))]


# ------------------------------------------------------------------ errors
ERROR_CLASSES = [c for c in vars(fe).values()
                 if isinstance(c, type) and issubclass(c, fe.IcechunkError)]


@pytest.mark.parametrize("cls", ERROR_CLASSES + [PluginNotFoundError, PluginConflictError],
                         ids=lambda c: c.__name__)
def test_every_error_pickles(cls):
    if cls is fe.ConflictError:
        err = cls("AAAA", "BBBB")
    elif cls is fe.RebaseFailedError:
        err = cls("SNAP", ["c1", "c2"])
    else:
        err = cls("something went wrong")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert (str(back), back.kind, back.message) == (str(err), err.kind, err.message)
    if cls is fe.RebaseFailedError:
        assert (back.snapshot, back.conflicts) == ("SNAP", ["c1", "c2"])
    if cls is fe.ConflictError:
        assert (back.expected_parent, back.actual_parent) == ("AAAA", "BBBB")


def test_error_kinds_are_a_closed_vocabulary():
    assert isinstance(frazil.InvalidInputError("x", "invalid-path").kind, fe.ErrorKind)
    with pytest.raises(ValueError):
        frazil.StorageError("x", "made-up-kind")


def _kind_literals() -> list[tuple[str, str]]:
    """String literals passed as the ``kind`` of a frazil error anywhere in frazil's code."""
    names = {c.__name__ for c in ERROR_CLASSES} | {
        "PluginNotFoundError", "PluginConflictError", "StoreReadOnlyError",
        "ConditionFailedError", "ObjectNotFoundError"}
    found = []
    for root in SOURCES:
        for path in root.rglob("*.py"):
            if "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                        node.func.id in names:
                    args = node.args[1:2] + [k.value for k in node.keywords if k.arg == "kind"]
                    found += [(f"{path.name}:{node.lineno}", a.value) for a in args
                              if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return found


def test_no_error_is_raised_with_a_string_kind():
    """Kinds are ErrorKind members at every raise site (a typo would fail at runtime)."""
    assert _kind_literals() == []


def test_errors_module_is_public_and_complete():
    assert set(fe.__all__) >= {c.__name__ for c in ERROR_CLASSES} | {"ErrorKind"}
    assert frazil.errors is fe


# --------------------------------------------------------------- change set
def _node(path: str, array: bool = False) -> NodeSnapshot:
    return NodeSnapshot(NodeId.random(), path, b"{}", None)


def test_changeset_copy_is_independent_and_pickles():
    cs = ChangeSet()
    a = _node("/a")
    cs.put_node(a, {})
    cs.set_chunk_ref(a.id, (0,), InlineChunkRef(b"x"))
    cs.set_chunk_ref(a.id, (1,), NativeChunkRef(ObjectId.random(), 0, 4))
    cs.set_chunk_ref(a.id, (2,), None)
    batch = VirtualBatch((2,), (4,), ["s3://b/f", ""], np.array([0, 0], np.uint64),
                         np.array([3, 0], np.uint64), np.array([True, False]), None, 0)
    cs.add_virtual_batch(a.id, batch)
    copy = cs.copy()
    copy.set_chunk_ref(a.id, (0,), None)
    assert cs.chunk_ref(a.id, (0,)) == InlineChunkRef(b"x")
    back = pickle.loads(pickle.dumps(cs))
    assert back.new == cs.new and back.chunks == cs.chunks
    assert back.chunk_ref(a.id, (4,)) == VirtualChunkRef("s3://b/f", 0, 3)
    assert back.chunk_ref(a.id, (5,)) is UNCHANGED
    assert back.chunk_ref(a.id, (2,)) is None
    assert pickle.loads(pickle.dumps(UNCHANGED)) is UNCHANGED


def test_changeset_merge_later_edits_win():
    base = {"/g": _node("/g")}
    ours, theirs = ChangeSet(), ChangeSet()
    x = _node("/x")
    ours.put_node(x, base)
    ours.set_chunk_ref(x.id, (0,), InlineChunkRef(b"ours"))
    ours.set_chunk_ref(x.id, (1,), InlineChunkRef(b"keep"))
    theirs.set_chunk_ref(x.id, (0,), InlineChunkRef(b"theirs"))
    theirs.delete_subtree("/g", base)
    ours.merge(theirs)
    assert ours.chunk_ref(x.id, (0,)) == InlineChunkRef(b"theirs")
    assert ours.chunk_ref(x.id, (1,)) == InlineChunkRef(b"keep")
    assert ours.node("/g", base) is None and ours.node("/x", base) is x


def test_changeset_delete_subtree_drops_descendants_and_their_chunks():
    g, child, other = _node("/g"), _node("/g/a"), _node("/ga")
    base = {n.path: n for n in (g, child, other)}
    cs = ChangeSet()
    cs.set_chunk_ref(child.id, (0,), InlineChunkRef(b"x"))
    cs.delete_subtree("/g", base)
    assert [n.path for n in cs.nodes(base)] == ["/ga"]
    assert cs.chunk_ref(child.id, (0,)) is UNCHANGED


# --------------------------------------------------------------- state layer
def _repo_with_history(tmp_path):
    repo = frazil.Repository.create(frazil.local_filesystem_storage(str(tmp_path / "r")))
    s = repo.writable_session("main")
    zarr.group(store=s.store).create_array("x", shape=(2,), chunks=(1,), dtype="i4")[:] = 1
    s.commit("one")
    return repo


async def test_state_layer_is_the_only_way_to_repo_info(tmp_path):
    repo = _repo_with_history(tmp_path)
    state = RepoInfoFileState(repo._assets)
    info = await state.fetch()
    tip = info.branches["main"]
    messages = [rec.message async for rec in state.ancestry(tip)]
    assert messages == ["one", "Repository initialized"]
    kinds = [u.kind async for u in state.ops_log()]
    assert kinds == ["NewCommit", "RepoInitialized"]


def test_ancestry_cycle_is_a_clear_error(tmp_path):
    repo = _repo_with_history(tmp_path)
    info, _, _ = frazil._sync.sync(repo._assets.fetch_repo_info())
    tip = info.branches["main"]
    root = info.snapshots[tip].parent_id
    info.snapshots[root].parent_id = tip  # corrupt: root's parent is the tip
    with pytest.raises(frazil.FormatError, match="cycle"):
        list(walk_records(info, tip))


def test_ops_log_cycle_is_a_clear_error(tmp_path):
    """A repo file whose ``repo_before_updates`` chain loops must not hang ops_log()."""
    storage = frazil.local_filesystem_storage(str(tmp_path / "r"))
    repo = frazil.Repository.create(storage)
    info, _, _ = frazil._sync.sync(repo._assets.fetch_repo_info())
    info.repo_before_updates = "overwritten/loop"
    looped = codec.encode_repo_info(info)
    frazil._sync.sync(storage.put_object("overwritten/loop", looped))
    frazil._sync.sync(storage.put_object("repo", looped))
    with pytest.raises(frazil.FormatError, match="cycle"):
        list(frazil.Repository.open(storage).ops_log())


# ------------------------------------------------------- sync facades, protocols
@pytest.mark.parametrize("cls,name", [(frazil.Repository, "create"),
                                      (frazil.Repository, "list_branches"),
                                      (frazil.Repository, "readonly_session"),
                                      (frazil.Session, "commit"),
                                      (frazil.Session, "get_node_id"),
                                      (frazil.IcechunkStore, "set_virtual_refs_arr")])
def test_sync_facades_are_generated_from_async(cls, name):
    sync_fn = inspect.getattr_static(cls, name)
    async_fn = inspect.getattr_static(cls, name + "_async")
    unwrap = getattr(sync_fn, "__func__", sync_fn)
    assert unwrap.__doc__ and unwrap.__doc__ == getattr(async_fn, "__func__", async_fn).__doc__
    assert inspect.signature(getattr(cls, name)) == inspect.signature(getattr(cls, name + "_async"))
    assert not inspect.iscoroutinefunction(getattr(cls, name))


def test_session_async_methods_carry_the_suffix():
    coroutines = [n for n, f in inspect.getmembers(frazil.Session, inspect.iscoroutinefunction)
                  if not n.startswith("_")]
    assert coroutines and all(n.endswith("_async") for n in coroutines), coroutines


def test_resolvers_meet_the_public_protocol(tmp_path):
    resolver = FileResolver(f"file://{tmp_path}/")
    assert isinstance(resolver, VirtualChunkResolver)
    assert isinstance(resolver, SupportsObjectMetadata)


def test_function_level_imports_are_few_and_explained():
    """The kernel imports at module level; the few functions that import lazily say why
    in a comment on or above their first import."""
    lazy = []
    for path in KERNEL.rglob("*.py"):
        lines = path.read_text().splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            imports = [n for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)]
            if imports:
                first = min(n.lineno for n in imports)
                context = lines[first - 2] + lines[first - 1]
                lazy.append((path.name, fn.name, "#" in context))
    assert len(lazy) <= 5, lazy
    assert all(explained for *_, explained in lazy), lazy


class S3Credentials:  # a backend's class, recognised by name as icechunk's are
    pass


class GcsCredentials:
    class Static:
        pass


def test_containers_credentials_tags_backend_credentials():
    from frazil.credentials import Credentials, containers_credentials, unwrap_credentials

    s3, gcs = S3Credentials(), GcsCredentials.Static()
    out = containers_credentials({"s3://b/": s3, "gs://b/": gcs, "file:///d/": None,
                                  "https://h/": frazil.credentials.HttpAccess})
    assert isinstance(out["s3://b/"], Credentials.S3) and out["s3://b/"].credentials is s3
    assert isinstance(out["gs://b/"], Credentials.Gcs)
    assert out["file:///d/"] is None
    assert unwrap_credentials(out["s3://b/"]) is s3
    assert unwrap_credentials(out["https://h/"]) is None
    assert pickle.loads(pickle.dumps(out["https://h/"])) == frazil.credentials.HttpAccess
    with pytest.raises(ValueError, match="Unknown credential type"):
        containers_credentials({"x://": object()})
