"""Tests of the metadata-file codecs against files written by icechunk 2.3."""

from __future__ import annotations

import glob
import os
import random
import shutil
import time
import warnings

import numpy as np
import pytest
import zstandard

from floe._errors import FormatError
from floe.format import codec
from floe.format.header import FileType, decode_file, encode_file
from floe.format.ids import NodeId, ObjectId
from floe.format.model import (KIND_INLINE, KIND_NATIVE, KIND_VIRTUAL, ArrayData, ArrayRefs,
                               Manifest, ManifestFileInfo, ManifestRef, MoveOperation,
                               NodeSnapshot, RepoInfo, RepoStatusRecord, Snapshot,
                               SnapshotRecord, TransactionLog, UpdateRecord)

ic = pytest.importorskip("icechunk")
zarr = pytest.importorskip("zarr")

COMMIT_MD = {"author": "x", "n": 3, "f": 1.5, "g": 0.1, "l": [1, "a"], "d": {"k": None},
             "neg": -5, "big": 2**40, "ints": [1, 2, 3]}
REPO_MD = {"owner": "me", "k": [1, 2.5, None]}


def _build(path: str) -> None:
    cfg = ic.RepositoryConfig(
        inline_chunk_threshold_bytes=512, get_partial_values_concurrency=7,
        compression=ic.CompressionConfig(level=5),
        manifest=ic.ManifestConfig(splitting=ic.ManifestSplittingConfig.from_dict(
            {ic.ManifestSplitCondition.path_matches("big.*"):
                {ic.ManifestSplitDimCondition.Axis(0): 1}})))
    repo = ic.Repository.create(ic.local_filesystem_storage(path), config=cfg)
    s = repo.writable_session("main")
    root = zarr.group(s.store, attributes={"title": "t"})
    g = root.create_group("grp", attributes={"a": 1, "nested": {"x": [1, 2]}})
    g.create_array("small", shape=(10,), chunks=(5,), dtype="i4")[:] = np.arange(10)
    big = root.create_array("big", shape=(60, 60), chunks=(30, 30), dtype="f8",
                            dimension_names=("y", None))
    big[:] = np.random.default_rng(0).random((60, 60))
    root.create_array("flags", shape=(4, 4, 4), chunks=(2, 2, 2), dtype="bool")[:] = True
    s1 = s.commit("first", metadata=COMMIT_MD)
    repo.create_branch("dev", s1)
    s = repo.writable_session("dev")
    z = zarr.open_group(s.store)
    z["big"][0:30, 0:30] = 7.0
    z.create_array("u8", shape=(3,), chunks=(2,), dtype="u1")[:] = [1, 2, 3]
    del z["grp/small"]
    s2 = s.commit("second")
    repo.create_tag("v1", s1)
    repo.create_tag("gone", s2)
    repo.delete_tag("gone")
    repo.set_metadata(REPO_MD)


@pytest.fixture(scope="module")
def icrepo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("ic") / "repo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _build(path)
    return path


_CODECS = {
    "repo": (codec.decode_repo_info, codec.encode_repo_info),
    "overwritten": (codec.decode_repo_info, codec.encode_repo_info),
    "snapshots": (codec.decode_snapshot, codec.encode_snapshot),
    "manifests": (codec.decode_manifest, codec.encode_manifest),
    "transactions": (codec.decode_transaction_log, codec.encode_transaction_log),
}


def _files(root: str) -> list[tuple[str, str]]:
    out = [(os.path.join(root, "repo"), "repo")]
    for d in ("overwritten", "snapshots", "manifests", "transactions"):
        out += [(p, d) for p in sorted(glob.glob(os.path.join(root, d, "*")))]
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_decode_icechunk_repository(icrepo: str) -> None:
    decoded = {d: [] for d in _CODECS}
    for path, d in _files(icrepo):
        decoded[d].append(_CODECS[d][0](_read(path), path))
    (info,) = decoded["repo"]
    assert set(info.branches) == {"main", "dev"}
    assert set(info.tags) == {"v1"} and info.deleted_tags == {"gone"}
    assert info.metadata == REPO_MD
    assert info.config["inline_chunk_threshold_bytes"] == 512
    assert info.config["compression"]["level"] == 5
    # newest first
    kinds = [u.kind for u in info.latest_updates]
    assert kinds[0] == "MetadataChanged" and kinds[-1] == "RepoInitialized"
    stamps = [u.updated_at for u in info.latest_updates]
    assert stamps == sorted(stamps, reverse=True)
    assert len(decoded["overwritten"]) == len(info.latest_updates) - 1
    msgs = {s.message: s for s in info.snapshots.values()}
    assert set(msgs) == {"Repository initialized", "first", "second"}
    assert msgs["first"].metadata == COMMIT_MD
    assert msgs["second"].parent_id == msgs["first"].id
    assert info.tags["v1"] == msgs["first"].id == info.branches["main"]

    snaps = {s.message: s for s in decoded["snapshots"]}
    assert [n.path for n in snaps["first"].nodes] == ["/", "/big", "/flags", "/grp",
                                                      "/grp/small"]
    assert [n.path for n in snaps["second"].nodes] == ["/", "/big", "/flags", "/grp", "/u8"]
    big = snaps["first"].nodes[1].array
    assert big.shape == ((60, 2), (60, 2)) and big.dimension_names == ("y", None)
    assert len(big.manifests) == 2  # split along axis 0
    assert snaps["first"].metadata == COMMIT_MD
    refs = {f.id: f.num_chunk_refs for s in decoded["snapshots"] for f in s.manifest_files}
    for m in decoded["manifests"]:
        assert sum(len(a) for a in m.arrays) == refs[m.id]
    kinds = np.concatenate([a.kinds for m in decoded["manifests"] for a in m.arrays])
    assert (kinds == KIND_INLINE).any() and (kinds == KIND_NATIVE).any()
    txs = {t.id: t for t in decoded["transactions"]}
    tx2 = txs[msgs["second"].id]
    assert len(tx2.new_arrays) == 1 and len(tx2.deleted_arrays) == 1


def _snapshot_contents(repo, snap_id: str) -> dict:
    s = repo.readonly_session(snapshot_id=snap_id)
    try:
        g = zarr.open_group(s.store, mode="r")
    except zarr.errors.GroupNotFoundError:  # the initial snapshot is empty
        return {}
    out = {"/": dict(g.attrs)}
    for name, node in g.members(max_depth=None):
        out[name] = (dict(node.attrs), node[...].tolist() if isinstance(node, zarr.Array)
                     else None)
    return out


def test_icechunk_reads_floe_written_files(icrepo: str, tmp_path) -> None:
    copy = str(tmp_path / "copy")
    shutil.copytree(icrepo, copy)
    # manifests first: snapshots record each manifest's exact file size, which
    # icechunk uses to fetch it, so they must be updated to floe's sizes.
    sizes = {}
    for path, d in sorted(_files(copy), key=lambda f: f[1] != "manifests"):
        dec, enc = _CODECS[d]
        obj = dec(_read(path), path)
        if d == "snapshots":
            obj.manifest_files = [ManifestFileInfo(f.id, sizes[f.id], f.num_chunk_refs)
                                  for f in obj.manifest_files]
        data = enc(obj)
        if d == "manifests":
            sizes[obj.id] = len(data)
        assert data[12:36].decode().startswith("floe")
        with open(path, "wb") as f:
            f.write(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ic.Repository.open(ic.local_filesystem_storage(icrepo))
        b = ic.Repository.open(ic.local_filesystem_storage(copy))
    assert str(a.config) == str(b.config)
    assert a.get_metadata() == b.get_metadata() == REPO_MD
    assert a.list_branches() == b.list_branches()
    assert a.list_tags() == b.list_tags()
    for branch in ("main", "dev"):
        anc_a = [(s.id, s.message, s.metadata) for s in a.ancestry(branch=branch)]
        anc_b = [(s.id, s.message, s.metadata) for s in b.ancestry(branch=branch)]
        assert anc_a == anc_b
        for sid, _m, _md in anc_a:
            assert _snapshot_contents(a, sid) == _snapshot_contents(b, sid)
    ops_a = [type(u.kind).__name__ for u in a.ops_log()]
    assert ops_a == [type(u.kind).__name__ for u in b.ops_log()]


# ------------------------------------------------------------ hand-built


def _oid(i: int) -> ObjectId:
    return ObjectId(i.to_bytes(12, "big"))


def _nid(i: int) -> NodeId:
    return NodeId(i.to_bytes(8, "big"))


def _refs(node: int, n: int, ndim: int = 3, mixed: bool = True) -> ArrayRefs:
    rng = np.random.default_rng(node)
    coords = np.unique(rng.integers(0, 1000, (n * 2, ndim), dtype=np.uint32), axis=0)[:n]
    n = len(coords)
    kinds = np.full(n, KIND_NATIVE, np.uint8)
    if mixed:
        kinds[::7] = KIND_INLINE
        kinds[3::11] = KIND_VIRTUAL
    native = kinds == KIND_NATIVE
    virtual = kinds == KIND_VIRTUAL
    chunk_ids = rng.integers(0, 256, (n, 12), dtype=np.uint8) * native[:, None].astype(np.uint8)
    return ArrayRefs(
        _nid(node), coords, kinds,
        np.where(native | virtual, rng.integers(0, 2**40, n), 0).astype(np.uint64),
        np.where(native | virtual, rng.integers(1, 2**20, n), 0).astype(np.uint64),
        chunk_ids,
        [bytes([i % 256]) * (i % 5) if k == KIND_INLINE else None for i, k in enumerate(kinds)],
        [f"s3://b/k{i}" if k == KIND_VIRTUAL else None for i, k in enumerate(kinds)],
        [("etag" if i % 2 else None) if k == KIND_VIRTUAL else None for i, k in enumerate(kinds)],
        np.where(virtual & (np.arange(n) % 2 == 0), 1234, 0).astype(np.uint32))


def _assert_refs_equal(a: ArrayRefs, b: ArrayRefs) -> None:
    assert a.node_id == b.node_id
    for f in ("coords", "kinds", "offsets", "lengths", "chunk_ids", "last_modified"):
        x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
        assert x.size == y.size == 0 or np.array_equal(x, y), f
    assert a.inline == b.inline and a.locations == b.locations and a.etags == b.etags


def test_manifest_roundtrip_and_speed() -> None:
    empty = Manifest(_oid(1), [])
    assert codec.decode_manifest(codec.encode_manifest(empty), "m") == empty
    m = Manifest(_oid(2), [_refs(5, 300), _refs(2, 50, 1), _refs(9, 0)])
    back = codec.decode_manifest(codec.encode_manifest(m), "m")
    assert back.id == m.id
    for a, b in zip(sorted(m.arrays, key=lambda a: a.node_id.raw), back.arrays):
        _assert_refs_equal(a, b)
    big = Manifest(_oid(3), [_refs(1, 10_000, 3, mixed=False)])
    t0 = time.perf_counter()
    data = codec.encode_manifest(big)
    t1 = time.perf_counter()
    back = codec.decode_manifest(data, "m")
    t2 = time.perf_counter()
    _assert_refs_equal(big.arrays[0], back.arrays[0])
    print(f"10k native refs: encode {t1 - t0:.4f}s decode {t2 - t1:.4f}s")
    assert t1 - t0 < 0.5 and t2 - t1 < 0.5


def _repo_info() -> RepoInfo:
    s0 = SnapshotRecord(_oid(9), None, 10, "init", {"__icechunk": {"is_root": True}})
    s1 = SnapshotRecord(_oid(4), _oid(9), 20, "c1", {"a": [1, -2, 0.1, None, "é"]},
                        [_oid(7)])
    return RepoInfo(
        spec_version=2, branches={"main": s1.id, "b": s0.id}, tags={"t": s0.id},
        deleted_tags={"x", "y"}, snapshots={s.id: s for s in (s0, s1)},
        status=RepoStatusRecord(1, 5, "maintenance"), metadata={"k": {"z": 1, "a": 2}},
        latest_updates=[
            UpdateRecord("RepoStatusChanged", {"status": RepoStatusRecord(1, 5, "m")}, 9),
            UpdateRecord("FeatureFlagChanged", {"id": 3, "new_value": True, "is_set": True}, 8),
            UpdateRecord("CommitAmended", {"branch": "main", "previous_snap_id": _oid(1),
                                           "new_snap_id": _oid(4)}, 7, "repo.x"),
            UpdateRecord("RepoMigrated", {"from_version": 1, "to_version": 2}, 6),
            UpdateRecord("RepoInitialized", {}, 1)],
        repo_before_updates="repo.old", config={"inline_chunk_threshold_bytes": 5, "x": None},
        enabled_feature_flags=[1, 2], disabled_feature_flags=[3], extra=b"\x01")


def _snapshot() -> Snapshot:
    arr = ArrayData(((100, 10), (5, 1)), ("x", None),
                    [ManifestRef(_oid(3), ((0, 10), (0, 1)))])
    nodes = [NodeSnapshot(_nid(1), "/", b"{}", None),
             NodeSnapshot(_nid(3), "/a-b", b'{"x":1}', ArrayData((), None, [])),
             NodeSnapshot(_nid(2), "/a/b", b"{}", arr, b"ex")]
    return Snapshot(_oid(5), nodes, 123, "msg", {"m": 1}, [ManifestFileInfo(_oid(3), 100, 10)])


def _txlog() -> TransactionLog:
    return TransactionLog(
        _oid(5), [_nid(1), _nid(2)], [_nid(3)], [], [_nid(4)], [], [_nid(6)],
        {_nid(3): np.array([[0, 1], [2, 0]], np.uint32), _nid(7): np.zeros((0, 2), np.uint32)},
        [MoveOperation("/a", "/b", _nid(3), True)])


def test_roundtrip_models() -> None:
    info = _repo_info()
    assert codec.decode_repo_info(codec.encode_repo_info(info)) == info
    snap = _snapshot()
    assert codec.decode_snapshot(codec.encode_snapshot(snap), "s") == snap
    empty = Snapshot(_oid(1), [], 0, "", {}, [])
    assert codec.decode_snapshot(codec.encode_snapshot(empty), "s") == empty
    tx = _txlog()
    back = codec.decode_transaction_log(codec.encode_transaction_log(tx), "t")
    assert back.new_groups == tx.new_groups and back.moved_nodes == tx.moved_nodes
    assert back.updated_chunks.keys() == tx.updated_chunks.keys()
    for k, v in tx.updated_chunks.items():
        assert np.array_equal(back.updated_chunks[k], v) or v.size == back.updated_chunks[k].size == 0
    empty_tx = TransactionLog(_oid(2))
    assert codec.decode_transaction_log(codec.encode_transaction_log(empty_tx), "t") == empty_tx


# ------------------------------------------------------------ corruption


def _corrupt_cases(data: bytes, ftype: FileType, rng: random.Random):
    for cut in sorted({int(len(data) * f) for f in np.linspace(0, 1, 40)[:-1]}):
        yield data[:cut]
    payload = bytearray(decode_file(data, ftype, "x"))
    for cut in range(0, len(payload), max(1, len(payload) // 60)):
        yield encode_file(ftype, bytes(payload[:cut]))
    for _ in range(300):
        p = bytearray(payload)
        for _ in range(rng.randint(1, 4)):
            p[rng.randrange(len(p))] = rng.randrange(256)
        yield encode_file(ftype, bytes(p))
    yield encode_file(ftype, os.urandom(len(payload)))
    yield data[:39] + b"garbage"


@pytest.mark.parametrize("kind", ["repo", "snapshot", "manifest", "txlog"])
def test_corruption_raises_only_format_error(kind: str) -> None:
    dec, data, ftype = {
        "repo": (codec.decode_repo_info, codec.encode_repo_info(_repo_info()),
                 FileType.REPO_INFO),
        "snapshot": (codec.decode_snapshot, codec.encode_snapshot(_snapshot()),
                     FileType.SNAPSHOT),
        "manifest": (codec.decode_manifest,
                     codec.encode_manifest(Manifest(_oid(2), [_refs(5, 40), _refs(2, 9, 1)])),
                     FileType.MANIFEST),
        "txlog": (codec.decode_transaction_log, codec.encode_transaction_log(_txlog()),
                  FileType.TRANSACTION_LOG),
    }[kind]
    rng = random.Random(42)
    for bad in _corrupt_cases(data, ftype, rng):
        try:
            dec(bad, "obj X")
        except FormatError as e:
            assert "obj X" in str(e)


def test_compressed_locations_decode() -> None:
    from floe.format import _fb
    from floe.format._fb import T, Blob, Str, Vec

    m = codec.encode_manifest(Manifest(_oid(2), [_refs(4, 30)]))
    r = _fb.Reader(decode_file(m, FileType.MANIFEST, "m"), "m")
    assert r.root().scalar(3, "u8", None) == 0  # like icechunk: 0 written explicitly
    samples = [f"s3://bucket/some/long/prefix/file-{i}.nc".encode() for i in range(300)]
    d = zstandard.train_dictionary(1024, samples)
    comp = zstandard.ZstdCompressor(dict_data=d)
    refs = [T((0, "off", _fb.u32_vec([i])), (2, "u64", 10 * i), (3, "u64", 5),
              (8, "off", Blob(comp.compress(samples[i]))), (6, "off", Str("e")))
            for i in range(3)]
    root = T((0, "struct", _oid(3).raw),
             (1, "off", Vec([T((0, "struct", _nid(1).raw), (1, "off", Vec(refs)))])),
             (2, "off", Blob(d.as_bytes())), (3, "u8", 1))
    back = codec.decode_manifest(encode_file(FileType.MANIFEST, _fb.finish(root)), "m")
    a = back.arrays[0]
    assert a.locations == [x.decode() for x in samples[:3]]
    assert a.kinds.tolist() == [KIND_VIRTUAL] * 3 and a.offsets.tolist() == [0, 10, 20]
    assert a.etags == ["e"] * 3
