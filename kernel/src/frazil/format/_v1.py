"""Spec-version-1 encodings: snapshots, and the v1 header on manifests and tx logs.

The flatbuffers schema is shared by both spec versions; a v1 file differs in
which fields it fills:

- a v1 snapshot carries its parent's id (v2 keeps the history in the repo
  info file), lists its manifests as ``ManifestFileInfo`` structs (slot 6,
  32 bytes each) instead of ``ManifestFileInfoV2`` tables (slot 7), stores
  array shapes as ``DimensionShape`` structs (array length, chunk length)
  instead of ``DimensionShapeV2`` tables, has no ``extra`` fields, and
  encodes each metadata value as MessagePack instead of flexbuffers;
- manifests and transaction logs have the same payload in both versions,
  only the header's spec-version byte differs.

:func:`decode_snapshot` reads either version (v1 snapshot files stay in
place when a repository is upgraded), choosing by the header byte.
"""

from __future__ import annotations

import struct
from typing import Any

from frazil.format import _fb, _msgpack, codec
from frazil.format._fb import Blob, Str, T, Tab, Vec
from frazil.format.header import (
    ZSTD_LEVEL,
    FileType,
    decode_file,
    encode_file,
    file_spec_version,
    with_spec_version,
)
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import ArrayData, ManifestFileInfo, ManifestRef, NodeSnapshot, Snapshot

__all__ = ["decode_snapshot", "decode_snapshot_summary", "encode_snapshot_v1",
           "with_spec_version"]

_FILE_INFO = struct.Struct("<12s4xQI4x")  # ManifestFileInfo: id, pad, size, count, pad
_DIM = struct.Struct("<QQ")  # DimensionShape: array_length, chunk_length


def _metadata_obj(md: dict[str, Any]) -> Vec:
    return codec._metadata_obj(md, _msgpack.encode)  # v1 values are MessagePack


def _metadata(t: Tab, slot: int, what: str) -> dict[str, Any]:
    return codec._metadata(t, slot, what, _msgpack.decode)


def _chunk_length(length: int, nchunks: int) -> int:
    # v1 keeps a chunk length; frazil (like icechunk 2) tracks chunk counts, so
    # the length is back-computed; the authoritative one is in the zarr metadata
    return 0 if nchunks == 0 else -(-length // nchunks)


def _node_obj(n: NodeSnapshot) -> T:
    if n.array is None:
        kind, body = 2, T()
    else:
        a = n.array
        dims = None if a.dimension_names is None else Vec(
            [T((0, "off", None if d is None else Str(d))) for d in a.dimension_names])
        shape = b"".join(_DIM.pack(length, _chunk_length(length, nchunks))
                         for length, nchunks in a.shape)
        mrefs = Vec([T((0, "struct", m.object_id.raw),
                       (1, "off", Blob(b"".join(struct.pack("<2I", *e) for e in m.extents),
                                       len(m.extents), 4)))
                     for m in a.manifests])
        body = T((0, "off", Blob(shape, len(a.shape), 8)), (1, "off", dims), (2, "off", mrefs))
        kind = 1
    return T((0, "struct", n.id.raw), (1, "off", Str(n.path)),
             (2, "off", Blob(bytes(n.user_data))), (3, "u8", kind), (4, "off", body))


def encode_snapshot_v1(s: Snapshot, level: int = ZSTD_LEVEL) -> bytes:
    """Complete spec-v1 snapshot file bytes of ``s`` (its ``parent_id`` included)."""
    nodes = sorted(s.nodes, key=lambda n: n.path.encode())
    files = sorted(s.manifest_files, key=lambda f: f.id.raw)
    root = T(
        (0, "struct", s.id.raw),
        (1, "struct", None if s.parent_id is None else s.parent_id.raw),
        (2, "off", Vec([_node_obj(n) for n in nodes])),
        (3, "u64", s.flushed_at),
        (4, "off", Str(s.message)),
        (5, "off", _metadata_obj(s.metadata)),
        (6, "off", Blob(b"".join(_FILE_INFO.pack(f.id.raw, f.size_bytes, f.num_chunk_refs)
                                 for f in files), len(files), 8)),
    )
    return encode_file(FileType.SNAPSHOT, _fb.finish(root), spec_version=1, level=level)


def _node_v1(t: Tab) -> NodeSnapshot:
    kind = t.scalar(3, "u8")
    body = t.need(t.table(4), "node_data")
    if kind == 2:
        array = None
    elif kind == 1:
        v2 = body.tables(3)
        if v2 is not None:
            shape = [(d.scalar(0, "u64"), d.scalar(1, "u32")) for d in v2]
        else:
            shape = []
            for raw in body.need(body.structs(0, _DIM.size), "shape"):
                length, chunk = _DIM.unpack(raw)
                if chunk == 0 and length != 0:
                    t.r.fail(f"array dimension of length {length} with chunk length 0")
                shape.append((length, 0 if chunk == 0 else -(-length // chunk)))
        dn = body.tables(1)
        manifests = []
        for m in body.need(body.tables(2), "manifests"):
            ext = m.need(m.structs(1, 8), "extents")
            manifests.append(ManifestRef(ObjectId(m.need(m.struct_bytes(0, 12), "object_id")),
                                         tuple(struct.unpack("<2I", e) for e in ext)))
        array = ArrayData(tuple(shape), None if dn is None else tuple(d.string(0) for d in dn),
                          manifests)
    else:
        t.r.fail(f"unknown node data type {kind}")
    return NodeSnapshot(NodeId(t.need(t.struct_bytes(0, 8), "id")), t.need(t.string(1), "path"),
                        t.need(t.bytes(2), "user_data"), array, t.bytes(5))


def _decode_v1(data: bytes, what: str) -> Snapshot:
    r = _fb.Reader(decode_file(data, FileType.SNAPSHOT, what), what)
    root = r.root()
    parent = root.struct_bytes(1, 12)
    files = []
    for raw in root.need(root.structs(6, _FILE_INFO.size), "manifest_files"):
        fid, size, count = _FILE_INFO.unpack(raw)
        files.append(ManifestFileInfo(ObjectId(fid), size, count))
    return Snapshot(
        id=ObjectId(root.need(root.struct_bytes(0, 12), "id")),
        nodes=[_node_v1(n) for n in root.need(root.tables(2), "nodes")],
        flushed_at=root.scalar(3, "u64"),
        message=root.need(root.string(4), "message"),
        metadata=_metadata(root, 5, what),
        manifest_files=files,
        parent_id=None if parent is None else ObjectId(parent),
        extra=root.bytes(8),
    )


def decode_snapshot(data: bytes, what: str) -> Snapshot:
    """Decode complete snapshot file bytes of either spec version."""
    if file_spec_version(data) == 1:
        return _decode_v1(data, what)
    return codec.decode_snapshot(data, what)


def decode_snapshot_summary(data: bytes, what: str
                            ) -> tuple[ObjectId, ObjectId | None, int, str, dict[str, Any]]:
    """``(id, parent_id, flushed_at, message, metadata)`` of snapshot file bytes.

    Reads the history fields only (not the nodes), for walking v1 histories.
    """
    if file_spec_version(data) != 1:
        s = codec.decode_snapshot(data, what)
        return s.id, s.parent_id, s.flushed_at, s.message, s.metadata
    r = _fb.Reader(decode_file(data, FileType.SNAPSHOT, what), what)
    root = r.root()
    parent = root.struct_bytes(1, 12)
    return (ObjectId(root.need(root.struct_bytes(0, 12), "id")),
            None if parent is None else ObjectId(parent), root.scalar(3, "u64"),
            root.need(root.string(4), "message"), _metadata(root, 5, what))
