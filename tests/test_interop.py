"""Interop with the real icechunk 2.3: the acceptance bar for frazil.

One repository-building function, :func:`build_varied_repo`, and one reading
function, :func:`read_all`, use only the icechunk public API on a library
module ``lib`` (``icechunk`` or ``frazil``). The tests combine them:

1. icechunk writes, frazil reads every version identically;
2. frazil writes, icechunk reads every version identically;
3. both libraries commit alternately to one repository, then both see the
   full history (ancestry ids, messages, metadata, timestamps) and all data.

The icechunk -> icechunk variants check the harness itself and must always
pass. "Identically" means: the same nodes, the same zarr.json documents, the
same set of chunk keys and the same decoded values as the independent numpy
model kept while writing, and the same as what icechunk reads.
"""

from __future__ import annotations

import copy
import json
import math
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import zarr
from _interop_support import LIBRARIES, load_lib
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

pytestmark = pytest.mark.interop

# icechunk's default inline threshold: chunks under 512 bytes are stored inside
# the manifest, larger ones as separate chunk objects.
INLINE_LIMIT = 512

# --------------------------------------------------------------------------
# description of what a repository must contain
# --------------------------------------------------------------------------


@dataclass
class Version:
    """One committed snapshot and what every node in it must read as."""

    snapshot_id: str
    branch: str
    message: str
    metadata: dict[str, Any]
    expected: dict[str, dict[str, Any]]  # node path -> node description


@dataclass
class RepoDescription:
    versions: list[Version] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)  # name -> tip snapshot id
    tags: dict[str, str] = field(default_factory=dict)  # name -> snapshot id
    deleted_tags: set[str] = field(default_factory=set)

    def __iter__(self):  # list of (snapshot_id, expected), as the brief describes it
        return iter([(v.snapshot_id, v.expected) for v in self.versions])


def _group(attrs: dict) -> dict:
    return {"kind": "group", "attrs": copy.deepcopy(attrs)}


def _array(data: np.ndarray, fill_value: Any, attrs: dict | None = None) -> dict:
    return {
        "kind": "array",
        "attrs": copy.deepcopy(attrs or {}),
        "data": np.array(data, copy=True),
        "fill_value": fill_value,
    }


def _full(shape, fill_value, dtype) -> np.ndarray:
    return np.full(shape, fill_value, dtype=dtype)


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


class _Writer:
    """Applies every change to zarr (through ``lib``) and to a numpy model."""

    def __init__(self, libs: Callable[[int], types.ModuleType], path: str,
                 spec_version: int | None = None):
        self.libs = libs  # step number -> library module doing that step
        self.path = path
        self.spec_version = spec_version
        self.step = 0
        self.model: dict[str, dict[str, dict]] = {}  # branch -> path -> node
        self.desc = RepoDescription()

    # each step opens the repository afresh with the library whose turn it is
    def repo(self):
        lib = self.libs(self.step)
        storage = lib.local_filesystem_storage(self.path)
        if self.step == 0:
            if self.spec_version is None:
                return lib.Repository.create(storage)
            return lib.Repository.create(storage, spec_version=self.spec_version)
        return lib.Repository.open(storage)

    def commit(self, session, branch: str, message: str, metadata: dict) -> str:
        sid = session.commit(message, metadata=metadata)
        assert isinstance(sid, str) and len(sid) == 20
        self.desc.versions.append(
            Version(sid, branch, message, copy.deepcopy(metadata),
                    copy.deepcopy(self.model[branch]))
        )
        self.desc.branches[branch] = sid
        self.step += 1
        return sid


def _libs_for(lib, alternate_with=None) -> Callable[[int], types.ModuleType]:
    if alternate_with is None:
        return lambda step: lib
    return lambda step: lib if step % 2 == 0 else alternate_with


def build_varied_repo(lib: types.ModuleType, path: str, *, alternate_with: types.ModuleType | None = None,
                      spec_version: int | None = None) -> RepoDescription:
    """Write a repository exercising the format's corners with library ``lib``.

    With ``alternate_with``, commits alternate between ``lib`` (even steps) and
    ``alternate_with`` (odd steps); each step reopens the repository with the
    library whose turn it is, so every step reads what the other one wrote.

    Returns the description of every committed version (snapshot id plus
    the expected content of every node) and the expected branches and tags.
    ``spec_version`` is passed to ``Repository.create`` when given.
    """
    w = _Writer(_libs_for(lib, alternate_with), path, spec_version)
    rng = np.random.default_rng(20240611)
    with warnings.catch_warnings():
        # zarr warns that some string/bytes dtypes lack a frozen v3 spec
        warnings.simplefilter("ignore")
        _build(w, rng)
    return w.desc


def _build(w: _Writer, rng: np.random.Generator) -> None:
    # ---- step 0: create; groups, attributes, many dtypes, inline chunks
    repo = w.repo()
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="w", attributes={"title": "varied", "n": 1})
    m = {"/": _group({"title": "varied", "n": 1})}
    g1 = root.create_group("g1", attributes={"level": 1, "tags": ["a", "b"], "nested": {"x": 1.5}})
    m["/g1"] = _group({"level": 1, "tags": ["a", "b"], "nested": {"x": 1.5}})
    g2 = g1.create_group("g2", attributes={"level": 2})
    m["/g1/g2"] = _group({"level": 2})
    root.create_group("empty_group")
    m["/empty_group"] = _group({})

    # (name, parent, dtype, fill, values written to [:3]) -- all chunks tiny => inline
    small = [
        ("bools", root, "bool", True, np.array([False, True, False])),
        ("c64", root, "complex64", 1 + 2j, np.array([1 - 1j, 0j, 3.5 + 0.25j], dtype="complex64")),
        ("i8", g1, "int8", -1, np.array([-128, 0, 127], dtype="int8")),
        ("u16", g1, "uint16", 7, np.array([0, 65535, 12], dtype="uint16")),
        ("f64", g2, "float64", math.nan, np.array([0.5, -math.inf, 1e300])),
        ("vstr", root, "str", "", np.array(["", "héllo", "a longer string value"], dtype=object)),
        ("fixstr", g2, "U7", "", np.array(["abc", "défg", "1234567"], dtype="U7")),
        ("fixbytes", g2, "S5", b"", np.array([b"ab", b"\x01\x02", b"12345"], dtype="S5")),
    ]
    for name, parent, dtype, fill, values in small:
        arr = parent.create_array(
            name, shape=(10,), chunks=(4,), dtype=dtype, fill_value=fill,
            attributes={"units": "m", "dtype": dtype},
        )
        arr[:3] = values
        path = ("/" + parent.path + "/" + name).replace("//", "/") if parent.path else "/" + name
        model_dtype = object if dtype == "str" else dtype
        data = _full((10,), fill, model_dtype)
        data[:3] = values
        m[path] = _array(data, fill, {"units": "m", "dtype": dtype})
    # an array that is never written reads as its fill value everywhere
    root.create_array("only_fill", shape=(5, 5), chunks=(2, 2), dtype="int32", fill_value=42)
    m["/only_fill"] = _array(_full((5, 5), 42, "int32"), 42)
    w.model["main"] = m
    w.commit(s, "main", "step 0: groups, dtypes, inline chunks", {"author": "step0", "n": 0})

    # ---- step 1: native (large) chunks, a sharded array, 2-D partial writes
    repo = w.repo()
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="r+")
    m = copy.deepcopy(w.model["main"])
    big = rng.standard_normal((64, 48))  # 32x16 float64 chunks = 4 KiB each, incompressible
    a = root.create_array("big", shape=(64, 48), chunks=(32, 16), dtype="float64", fill_value=0.0)
    a[:] = big
    assert big[:32, :16].nbytes > INLINE_LIMIT
    m["/big"] = _array(big, 0.0)
    sh_data = np.arange(100 * 80, dtype="float32").reshape(100, 80)
    sh = root.create_array(
        "sharded", shape=(100, 80), chunks=(10, 10), shards=(50, 40), dtype="float32",
        fill_value=-1.0, attributes={"sharded": True},
    )
    sh[:, :40] = sh_data[:, :40]  # second column of shards stays absent
    exp = _full((100, 80), -1.0, "float32")
    exp[:, :40] = sh_data[:, :40]
    m["/sharded"] = _array(exp, -1.0, {"sharded": True})
    part = root["g1"].create_array("partial", shape=(20, 30), chunks=(7, 11), dtype="int8", fill_value=3)
    part[5:9, 10:25] = -5
    exp = _full((20, 30), 3, "int8")
    exp[5:9, 10:25] = -5
    m["/g1/partial"] = _array(exp, 3)
    w.model["main"] = m
    v1 = w.commit(s, "main", "step 1: native chunks + sharding", {"author": "step1", "nested": {"k": [1, 2]}})

    # ---- tags and a branch, created by the library whose turn it is
    repo = w.repo()
    repo.create_tag("v1", snapshot_id=v1)
    repo.create_tag("doomed", snapshot_id=v1)
    repo.create_branch("dev", snapshot_id=v1)
    w.desc.tags.update({"v1": v1, "doomed": v1})
    w.desc.branches["dev"] = v1
    w.model["dev"] = copy.deepcopy(w.model["main"])

    # ---- step 2: a commit on the branch: overwrite, grow, new array
    s = repo.writable_session("dev")
    root = zarr.open_group(s.store, mode="r+")
    m = w.model["dev"]
    root["big"][:8, :8] = 9.0
    m["/big"]["data"][:8, :8] = 9.0
    u16 = root["g1/u16"]
    u16.resize((14,))  # grow: new elements read as fill
    u16[12] = 99
    d = m["/g1/u16"]["data"]
    d = np.concatenate([d, _full((4,), 7, "uint16")])
    d[12] = 99
    m["/g1/u16"]["data"] = d
    root["g1"].attrs["branch"] = "dev"
    m["/g1"]["attrs"]["branch"] = "dev"
    root.create_array("dev_only", shape=(3,), chunks=(3,), dtype="int64", fill_value=0)[:] = [1, 2, 3]
    m["/dev_only"] = _array(np.array([1, 2, 3], dtype="int64"), 0)
    w.commit(s, "dev", "step 2: on dev", {"author": "step2", "branch": "dev"})

    # ---- step 3: on main: delete nodes, shrink an array, attrs, clear a chunk
    repo = w.repo()
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="r+")
    m = copy.deepcopy(w.model["main"])
    del root["g1/i8"]
    del m["/g1/i8"]
    del root["empty_group"]
    del m["/empty_group"]
    root["big"].resize((32, 48))  # chunk-aligned shrink: the dropped chunks are deleted
    m["/big"]["data"] = m["/big"]["data"][:32].copy()
    root["sharded"][:10, :10] = -1.0  # back to fill value inside a shard
    m["/sharded"]["data"][:10, :10] = -1.0
    root["g1/partial"][:7, :11] = 3  # a whole chunk back to fill value -> chunk removed
    m["/g1/partial"]["data"][:7, :11] = 3
    root.attrs["n"] = 2
    m["/"]["attrs"]["n"] = 2
    w.model["main"] = m
    v2 = w.commit(s, "main", "step 3: deletes, shrink, fill", {"author": "step3"})

    repo = w.repo()
    repo.create_tag("v2", snapshot_id=v2)
    repo.delete_tag("doomed")
    w.desc.tags["v2"] = v2
    del w.desc.tags["doomed"]
    w.desc.deleted_tags.add("doomed")

    # ---- step 4: main again, a new nested group and array, more metadata
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="r+")
    m = copy.deepcopy(w.model["main"])
    g3 = root.require_group("g1").create_group("g3", attributes={"made": "late"})
    m["/g1/g3"] = _group({"made": "late"})
    arr = g3.create_array("ints", shape=(6, 6), chunks=(3, 3), dtype="int16", fill_value=0)
    arr[:] = np.arange(36, dtype="int16").reshape(6, 6)
    m["/g1/g3/ints"] = _array(np.arange(36, dtype="int16").reshape(6, 6), 0)
    w.model["main"] = m
    w.commit(s, "main", "step 4: late group", {"author": "step4", "unicode": "ünïcødé"})


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------


def _list_keys(store, prefix: str) -> list[str]:
    async def collect():
        return [k async for k in store.list_prefix(prefix)]

    return sorted(sync(collect()))


def _raw_json(store, key: str) -> dict:
    buf = sync(store.get(key, prototype=default_buffer_prototype()))
    assert buf is not None, f"{key} missing"
    return json.loads(buf.to_bytes())


def read_all(lib: types.ModuleType, path: str, snapshot_id: str) -> dict[str, dict[str, Any]]:
    """Open the repository at ``path`` with ``lib`` and read every node of one version.

    Returns ``{node path: description}`` with plain Python / numpy values:
    kind, attrs, the node's zarr.json document, and for arrays the data, the
    fill value and the sorted list of chunk keys present in the store.
    """
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    session = repo.readonly_session(snapshot_id=snapshot_id)
    store = session.store
    root = zarr.open_group(store, mode="r")
    out: dict[str, dict[str, Any]] = {}
    nodes = [("", root)] + sorted(root.members(max_depth=None), key=lambda kv: kv[0])
    for name, node in nodes:
        key_prefix = f"{name}/" if name else ""
        p = "/" + name
        desc: dict[str, Any] = {
            "attrs": dict(node.attrs),
            "zarr_json": _raw_json(store, key_prefix + "zarr.json"),
        }
        if isinstance(node, zarr.Group):
            desc["kind"] = "group"
        else:
            desc["kind"] = "array"
            desc["data"] = node[...]
            fv = node.fill_value
            desc["fill_value"] = fv.item() if hasattr(fv, "item") else fv
            desc["chunk_keys"] = [
                k for k in _list_keys(store, key_prefix) if k.startswith(key_prefix + "c")
            ]
        out[p] = desc
    return out


# --------------------------------------------------------------------------
# comparing
# --------------------------------------------------------------------------


def _same_scalar(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, complex) or isinstance(b, complex):
        return complex(a) == complex(b)
    if isinstance(a, (bytes, np.bytes_)) or isinstance(b, (bytes, np.bytes_)):
        return bytes(a) == bytes(b)
    return a == b


def _assert_same_data(actual: np.ndarray, expected: np.ndarray, where: str) -> None:
    assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind in "OUT" or actual.dtype.kind in "OUT":
        assert [str(x) for x in actual.ravel().tolist()] == [
            str(x) for x in expected.ravel().tolist()
        ], where
        return
    assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(actual, expected, err_msg=where, strict=True)


def assert_matches_model(actual: dict, expected: dict, where: str) -> None:
    """What a library read equals the numpy model built while writing."""
    assert sorted(actual) == sorted(expected), f"{where}: node paths differ"
    for p, exp in expected.items():
        got = actual[p]
        assert got["kind"] == exp["kind"], f"{where} {p}: kind"
        assert got["attrs"] == exp["attrs"], f"{where} {p}: attrs"
        if exp["kind"] == "array":
            _assert_same_data(got["data"], exp["data"], f"{where} {p}")
            assert _same_scalar(got["fill_value"], exp["fill_value"]), (
                f"{where} {p}: fill {got['fill_value']!r} != {exp['fill_value']!r}"
            )


def assert_same_reads(actual: dict, oracle: dict, where: str) -> None:
    """Two libraries' reads of one version are identical, metadata documents and chunk keys too."""
    assert sorted(actual) == sorted(oracle), f"{where}: node paths differ"
    for p, exp in oracle.items():
        got = actual[p]
        assert got["kind"] == exp["kind"], f"{where} {p}: kind"
        assert got["attrs"] == exp["attrs"], f"{where} {p}: attrs"
        assert json.dumps(got["zarr_json"], sort_keys=True) == json.dumps(
            exp["zarr_json"], sort_keys=True
        ), f"{where} {p}: zarr.json differs"
        if exp["kind"] == "array":
            _assert_same_data(got["data"], exp["data"], f"{where} {p}")
            assert got["chunk_keys"] == exp["chunk_keys"], f"{where} {p}: chunk keys"
            assert _same_scalar(got["fill_value"], exp["fill_value"]), f"{where} {p}: fill"


def history(lib: types.ModuleType, path: str, branch: str) -> list[tuple]:
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    return [
        (s.id, s.parent_id, s.message, s.metadata, s.written_at)
        for s in repo.ancestry(branch=branch)
    ]


def refs(lib: types.ModuleType, path: str) -> dict:
    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    branches = sorted(repo.list_branches())
    tags = sorted(repo.list_tags())
    return {
        "branches": {b: repo.lookup_branch(b) for b in branches},
        "tags": {t: repo.lookup_tag(t) for t in tags},
    }


def check_repository(path: str, desc: RepoDescription, reader: types.ModuleType,
                     oracle: types.ModuleType) -> None:
    """Everything in ``desc`` reads back through ``reader`` as the model says and as the oracle reads."""
    # refs
    r = refs(reader, path)
    assert r == refs(oracle, path)
    assert r["branches"] == desc.branches
    assert r["tags"] == desc.tags
    repo = reader.Repository.open(reader.local_filesystem_storage(path))
    for t in desc.deleted_tags:
        with pytest.raises(Exception):
            repo.lookup_tag(t)
    # history
    for branch in desc.branches:
        h = history(reader, path, branch)
        assert h == history(oracle, path, branch), f"ancestry of {branch} differs"
        ids = [x[0] for x in h]
        own = [v for v in desc.versions if v.snapshot_id in ids]
        for v in own:
            entry = h[ids.index(v.snapshot_id)]
            assert entry[2] == v.message
            assert entry[3] == v.metadata
        assert h[-1][2] == "Repository initialized"
        assert h[-1][1] is None
    # data, every version; also through tags and branches
    for v in desc.versions:
        got = read_all(reader, path, v.snapshot_id)
        assert_matches_model(got, v.expected, f"{reader.__name__} @ {v.message}")
        if reader is not oracle:
            assert_same_reads(got, read_all(oracle, path, v.snapshot_id), f"@ {v.message}")
    for tag, sid in desc.tags.items():
        s = repo.readonly_session(tag=tag)
        assert s.snapshot_id == sid
    for branch, sid in desc.branches.items():
        s = repo.readonly_session(branch=branch)
        assert s.snapshot_id == sid


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reader", LIBRARIES)
@pytest.mark.parametrize("writer", LIBRARIES)
def test_write_then_read(writer, reader, repo_path):
    """(1) icechunk writes / frazil reads, (2) frazil writes / icechunk reads; plus both self-checks."""
    w = load_lib(writer)
    r = load_lib(reader)
    oracle = load_lib("icechunk")
    desc = build_varied_repo(w, repo_path)
    assert len(desc.versions) == 5
    check_repository(repo_path, desc, r, oracle)
    if r is not oracle:
        check_repository(repo_path, desc, oracle, oracle)


@pytest.mark.parametrize(
    "first,second",
    [("icechunk", "frazil"), ("frazil", "icechunk"), ("icechunk", "icechunk")],
)
def test_alternating_commits(first, second, repo_path):
    """(3) commits alternate between the libraries on one repository; both see everything."""
    a = load_lib(first)
    b = load_lib(second)
    desc = build_varied_repo(a, repo_path, alternate_with=b)
    for lib in {a, b}:
        check_repository(repo_path, desc, lib, load_lib("icechunk"))
    # and one more commit by each on top of the other's, on both branches
    for i, (lib, branch) in enumerate([(b, "main"), (a, "main"), (a, "dev"), (b, "dev")]):
        mark = f"{lib.__name__}-{i}"
        repo = lib.Repository.open(lib.local_filesystem_storage(repo_path))
        s = repo.writable_session(branch)
        zarr.open_group(s.store, mode="r+").attrs["last"] = mark
        sid = s.commit(f"extra {mark}", metadata={"by": lib.__name__, "i": i})
        for other in (a, b):
            h = history(other, repo_path, branch)
            assert h[0][0] == sid and h[0][2] == f"extra {mark}"
            assert h[0][3] == {"by": lib.__name__, "i": i}
            s2 = other.Repository.open(other.local_filesystem_storage(repo_path)).readonly_session(
                branch=branch
            )
            assert zarr.open_group(s2.store, mode="r").attrs["last"] == mark


@pytest.mark.parametrize("writer,reader", [("frazil", "icechunk"), ("icechunk", "frazil")])
def test_many_refs_read_by_the_other_library(writer, reader, repo_path):
    """Branches and tags with names of every length modulo 4 (the ref tables are laid
    out per name length), non-ASCII ones too, written by one library, resolved by the
    other to the snapshots they were created at, after a commit that moves them in the
    snapshot table."""
    w, r = load_lib(writer), load_lib(reader)
    repo = w.Repository.create(w.local_filesystem_storage(repo_path))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(4,), chunks=(2,), dtype="i4")[:] = 1
    first = s.commit("one")
    initial = [snap.id for snap in repo.ancestry(branch="main")][-1]
    names = [f"r{'x' * k}é" if k % 5 == 0 else f"r{'x' * k}" for k in range(1, 30)]
    targets = {name: first if k % 2 else initial for k, name in enumerate(names)}
    for name, target in targets.items():
        repo.create_branch(f"b/{name}", target)
        repo.create_tag(f"t.{name}", target)
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[:] = 2
    tip = s.commit("two")
    other = r.Repository.open(r.local_filesystem_storage(repo_path))
    assert sorted(other.list_branches()) == sorted(["main"] + [f"b/{n}" for n in names])
    assert sorted(other.list_tags()) == sorted(f"t.{n}" for n in names)
    assert other.lookup_branch("main") == tip
    for name, target in targets.items():
        assert other.lookup_branch(f"b/{name}") == target
        assert other.lookup_tag(f"t.{name}") == target
