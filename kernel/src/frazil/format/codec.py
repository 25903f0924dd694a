"""Codecs for the four metadata files: repo info, snapshot, manifest, tx log.

Each ``encode_*`` returns complete file bytes (header + zstd flatbuffer);
each ``decode_*`` takes complete file bytes and ``what`` (the object's name
for error messages) and raises only :class:`~frazil.errors.FormatError` on
malformed input. Field slots follow frazil's schemas in ``schemas/*.fbs``.
"""

from __future__ import annotations

import bisect
import itertools
import struct
from typing import Any

import numpy as np

from frazil.errors import InvalidInputError
from frazil.format import _fb, _flex
from frazil.format._columns import TableColumn
from frazil.format._fb import Blob, Raw, Str, T, Tab, Vec
from frazil.format._manifest import decode_manifest, encode_manifest
from frazil.format.header import ZSTD_LEVEL, FileType, decode_file, encode_file
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import (
    ArrayData,
    ManifestFileInfo,
    ManifestRef,
    MoveOperation,
    NodeSnapshot,
    RepoInfo,
    RepoStatusRecord,
    Snapshot,
    SnapshotRecord,
    TransactionLog,
    UpdateRecord,
)

__all__ = [
    "decode_manifest", "decode_repo_info", "decode_snapshot", "decode_transaction_log",
    "encode_manifest", "encode_repo_info", "encode_snapshot", "encode_transaction_log",
]

# ----------------------------------------------------------------- shared


def _metadata_obj(md: dict[str, Any], encode: Any = _flex.encode) -> Vec:
    """Metadata as name/value tables; values in ``encode``'s form (flexbuffers in v2)."""
    if not isinstance(md, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(md).__name__}")
    for key in md:
        if not isinstance(key, str):
            raise InvalidInputError(f"metadata keys must be strings, got {type(key).__name__}")
    items = sorted(md.items(), key=lambda kv: kv[0].encode())
    return Vec([T((0, "off", Str(k)), (1, "off", Blob(encode(v)))) for k, v in items])


def _metadata(t: Tab, slot: int, what: str, decode: Any = _flex.decode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in t.tables(slot) or []:
        name = item.need(item.string(0), "name")
        out[name] = decode(item.need(item.bytes(1), "value"), what)
    return out


def _oid(t: Tab, slot: int, name: str) -> ObjectId:
    return ObjectId(t.need(t.struct_bytes(slot, 12), name))


def _nid(t: Tab, slot: int, name: str) -> NodeId:
    return NodeId(t.need(t.struct_bytes(slot, 8), name))


def _ids_blob(ids: list[Any]) -> Blob:
    raws = sorted(i.raw for i in ids)
    return Blob(b"".join(raws), len(raws))


def _opt_blob(data: bytes | None) -> Blob | None:
    return None if data is None else Blob(bytes(data))


# -------------------------------------------------------------- repo info

# Update union members in schema order (type id = index + 1), with fields.
_UPDATES: list[tuple[str, list[tuple[str, str]]]] = [
    ("RepoInitialized", []),
    ("RepoMigrated", [("from_version", "u8"), ("to_version", "u8")]),
    ("ConfigChanged", []),
    ("MetadataChanged", []),
    ("TagCreated", [("name", "str")]),
    ("TagDeleted", [("name", "str"), ("previous_snap_id", "id")]),
    ("BranchCreated", [("name", "str")]),
    ("BranchDeleted", [("name", "str"), ("previous_snap_id", "id")]),
    ("BranchReset", [("name", "str"), ("previous_snap_id", "id")]),
    ("NewCommit", [("branch", "str"), ("new_snap_id", "id")]),
    ("CommitAmended", [("branch", "str"), ("previous_snap_id", "id"), ("new_snap_id", "id")]),
    ("NewDetachedSnapshot", [("new_snap_id", "id")]),
    ("GCRan", []),
    ("ExpirationRan", []),
    ("FeatureFlagChanged", [("id", "u16"), ("new_value", "bool"), ("is_set", "bool")]),
    ("RepoStatusChanged", [("status", "status")]),
]
_UPDATE_TYPE = {name: i + 1 for i, (name, _f) in enumerate(_UPDATES)}


def _status_obj(s: RepoStatusRecord) -> T:
    reason = s.limited_availability_reason
    return T((0, "u8", s.availability), (1, "u64", s.set_at),
             (2, "off", None if reason is None else Str(reason)))


def _status(t: Tab) -> RepoStatusRecord:
    avail = t.scalar(0, "u8")
    if avail > 2:
        t.r.fail(f"unknown repository availability {avail}")
    return RepoStatusRecord(avail, t.scalar(1, "u64"), t.string(2))


def _update_obj(u: UpdateRecord) -> T:
    if u.kind not in _UPDATE_TYPE:
        raise ValueError(f"unknown update kind {u.kind!r}")
    fields: list[tuple[int, str, Any]] = []
    for slot, (name, kind) in enumerate(_UPDATES[_UPDATE_TYPE[u.kind] - 1][1]):
        v: Any = u.fields.get(name)  # None only for an unset optional (status) field
        if kind == "str":
            fields.append((slot, "off", Str(v)))
        elif kind == "id":
            fields.append((slot, "struct", v.raw))
        elif kind == "status":
            fields.append((slot, "off", None if v is None else _status_obj(v)))
        else:
            fields.append((slot, kind, v))
    return T((0, "u8", _UPDATE_TYPE[u.kind]), (1, "off", T(*fields)),
             (2, "u64", u.updated_at),
             (3, "off", None if u.backup_path is None else Str(u.backup_path)))


def _update(t: Tab) -> UpdateRecord:
    ut = t.scalar(0, "u8")
    if not 1 <= ut <= len(_UPDATES):
        t.r.fail(f"unknown update type {ut}")
    kind, spec = _UPDATES[ut - 1]
    body = t.need(t.table(1), "update_type")
    fields: dict[str, Any] = {}
    for slot, (name, k) in enumerate(spec):
        if k == "str":
            fields[name] = body.need(body.string(slot), name)
        elif k == "id":
            fields[name] = _oid(body, slot, name)
        elif k == "status":
            st = body.table(slot)
            fields[name] = None if st is None else _status(st)
        else:
            fields[name] = body.scalar(slot, k, False if k == "bool" else 0)
    return UpdateRecord(kind, fields, t.scalar(2, "u64"), t.string(3))


_I32 = struct.Struct("<i")

# Serialized SnapshotInfo / Update subtrees by content key. The repo file is
# re-encoded on every commit with all earlier entries unchanged, so most of it
# is copied from here instead of serialized again.
_IMAGES: dict[tuple[Any, ...], tuple[_fb.Image, int | None]] = {}
_IMAGES_MAX = 50_000
_IMAGES_MAX_BYTES = 64 << 20  # and about this many bytes held (node metadata can be large)
_images_bytes = 0


def _snapshot_key(s: SnapshotRecord) -> tuple[Any, ...]:
    # a snapshot's id fixes its message, time and metadata; expiration may add pruned logs
    pruned = s.pruned_ancestor_tx_logs
    return ("s", s.id.raw, s.flushed_at, s.message,
            tuple(p.raw for p in pruned) if pruned else ())


def _update_key(u: UpdateRecord) -> tuple[Any, ...]:
    return ("u", u.kind, u.updated_at, u.backup_path,
            tuple((k, v.raw if isinstance(v, ObjectId) else repr(v)) for k, v in u.fields.items()))


def _image(key: tuple[Any, ...], rec: Any, build: Any, patch_slot: int | None = None,
           extra_bytes: int = 0) -> tuple[_fb.Image, int | None]:
    global _images_bytes
    hit = _IMAGES.get(key)
    if hit is not None:
        return hit
    img = _fb.Image(build(rec))
    weight = 2 * len(img.padded) + extra_bytes  # the image's two copies, the key's bytes
    if len(_IMAGES) >= _IMAGES_MAX or _images_bytes + weight > _IMAGES_MAX_BYTES:
        _IMAGES.clear()
        _images_bytes = 0
    at = None if patch_slot is None else img.table_field_offset(patch_slot)
    _IMAGES[key] = (img, at)
    _images_bytes += weight
    return img, at


# Update images by record identity (the record is kept, so its id is not reused);
# a hit also checks the two fields code ever reassigns (time and backup path).
_UPDATE_IMAGES: dict[int, tuple[UpdateRecord, int, str | None, _fb.Image]] = {}


def _update_image(u: UpdateRecord) -> _fb.Image:
    hit = _UPDATE_IMAGES.get(id(u))
    if (hit is not None and hit[0] is u and hit[1] == u.updated_at
            and hit[2] == u.backup_path):
        return hit[3]
    if len(_UPDATE_IMAGES) >= _IMAGES_MAX:
        _UPDATE_IMAGES.clear()
    img = _image(_update_key(u), u, _update_obj)[0]
    _UPDATE_IMAGES[id(u)] = (u, u.updated_at, u.backup_path, img)
    return img


# The ops-log vector of the last encode: (records, images, sizes, entries). An update
# adds an entry at the front, gives the previous head its backup path and may drop
# the oldest, so all but the first two entries are the last encode's.
_LAST_UPDATES: list[tuple[tuple[UpdateRecord, ...], list[_fb.Image], np.ndarray,
                          np.ndarray]] = []


def _update_vec(updates: list[UpdateRecord]) -> Raw:
    recs = tuple(updates)
    last = _LAST_UPDATES[0] if _LAST_UPDATES else None
    keep = len(recs) - 2
    # (tuple equality compares identical items by identity first, at C speed; equal
    # records that are not identical encode to the same bytes)
    if (last is not None and keep > 0 and len(last[0]) > keep
            and recs[2:] == last[0][1:keep + 1]):
        head = [_update_image(u) for u in recs[:2]]
        images = head + last[1][1:keep + 1]
        sizes = np.concatenate([_fb.image_sizes(head), last[2][1:keep + 1]])
        entries = np.concatenate([_fb.image_entries(head), last[3][1:keep + 1]])
    else:
        images = [_update_image(u) for u in recs]
        sizes, entries = _fb.image_sizes(images), _fb.image_entries(images)
    _LAST_UPDATES[:] = [(recs, images, sizes, entries)]
    return _fb.image_vec(images, sizes=sizes, entries=entries)


_DECODED_SNAPSHOTS: dict[tuple[bytes, int], tuple[str, dict[str, Any]]] = {}
_DECODED_UPDATES: dict[tuple[int, int, str | None], UpdateRecord] = {}


def _update_cached(t: Tab) -> UpdateRecord:
    # an ops-log entry is fixed by its type, time and backup path (unique per file)
    key = (t.scalar(0, "u8"), t.scalar(2, "u64"), t.string(3))
    rec = _DECODED_UPDATES.get(key)
    if rec is None:
        if len(_DECODED_UPDATES) >= _IMAGES_MAX:
            _DECODED_UPDATES.clear()
        rec = _DECODED_UPDATES[key] = _update(t)
    return rec


def _snapshot_obj(s: SnapshotRecord) -> T:
    # parent_offset is always written (even -1) so a cached image can be patched
    pruned = s.pruned_ancestor_tx_logs
    return T((0, "struct", s.id.raw), (1, "i32", -1), (2, "u64", s.flushed_at),
             (3, "off", Str(s.message)), (4, "off", _metadata_obj(s.metadata)),
             (5, "off", None if not pruned else
              Blob(b"".join(p.raw for p in pruned), len(pruned))))


class _SnapshotTable:
    """A repo info file's snapshot records in id order, with their encoded vector.

    Built from cached per-record images (parent index field unset) whose parent
    indexes are patched in one numpy step. :meth:`extended` adds the records of
    a commit to a copy without redoing the others.
    """

    __slots__ = ("ats", "entries", "images", "parents", "raws", "records", "sizes", "vec")

    def __init__(self, records: tuple[SnapshotRecord, ...], raws: list[bytes],
                 images: list[_fb.Image], ats: np.ndarray, parents: np.ndarray,
                 sizes: np.ndarray, entries: np.ndarray) -> None:
        self.records, self.raws, self.images, self.ats = records, raws, images, ats
        self.parents, self.sizes, self.entries = parents, sizes, entries
        self.vec = _fb.image_vec(images, ats, parents, sizes=sizes, entries=entries)

    @staticmethod
    def _image(s: SnapshotRecord) -> tuple[_fb.Image, int]:
        img, at = _image(_snapshot_key(s), s, _snapshot_obj, patch_slot=1)
        if at is None:  # pragma: no cover - the field is always written
            raise ValueError("parent_offset missing from a snapshot image")
        return img, at

    @classmethod
    def build(cls, records: tuple[SnapshotRecord, ...]) -> _SnapshotTable:
        snaps = sorted(records, key=lambda s: s.id.raw)
        raws = [s.id.raw for s in snaps]
        index = {raw: i for i, raw in enumerate(raws)}
        pairs = [cls._image(s) for s in snaps]
        images = [img for img, _at in pairs]
        parents = np.array([-1 if s.parent_id is None else index[s.parent_id.raw]
                            for s in snaps], np.int64)
        return cls(records, raws, images, np.array([at for _img, at in pairs], np.int64),
                   parents, _fb.image_sizes(images), _fb.image_entries(images))

    def index(self, raw: bytes) -> int:
        """Position of the snapshot ``raw``; ``KeyError`` if it has no record."""
        return _position(self.raws, raw)

    def extended(self, records: tuple[SnapshotRecord, ...]) -> _SnapshotTable | None:
        """The table of ``records`` (``self.records`` plus more), or None if one is a duplicate."""
        raws, images = list(self.raws), list(self.images)
        extras = records[len(self.records):]
        # the new records' positions, then every column rebuilt once (np.insert per
        # record and column costs more than the whole rebuild for a commit's one record)
        places = []
        for s in extras:
            raw = s.id.raw
            p = bisect.bisect_left(raws, raw)
            if p < len(raws) and raws[p] == raw:
                return None
            img, at = self._image(s)
            raws.insert(p, raw)
            images.insert(p, img)
            places.append((p, at, len(img.padded), img.entry))
        old = np.ones(len(raws), bool)  # rows that come from self
        new_at = []
        for p, *_vals in places:  # positions as of the final order
            new_at = [q + 1 if q >= p else q for q in new_at]
            new_at.append(p)
        old[new_at] = False
        cols = []
        for k, col in enumerate((self.ats, self.sizes, self.entries)):
            out = np.empty(len(raws), np.int64)
            out[old] = col  # old rows keep their order
            out[new_at] = [v[k + 1] for v in places]
            cols.append(out)
        ats, sizes, entries = cols
        oldpos = np.flatnonzero(old)  # old row i is now row oldpos[i]
        prev = self.parents
        parents = np.full(len(raws), -1, np.int64)
        parents[oldpos] = np.where(prev >= 0, oldpos[np.maximum(prev, 0)], -1)
        for s in extras:
            if s.parent_id is not None:
                parents[_position(raws, s.id.raw)] = _position(raws, s.parent_id.raw)
        return _SnapshotTable(records, raws, images, ats, parents, sizes, entries)


def _position(raws: list[bytes], raw: bytes) -> int:
    """Position of ``raw`` in the sorted ``raws``; ``KeyError`` if it is not there."""
    p = bisect.bisect_left(raws, raw)
    if p == len(raws) or raws[p] != raw:
        raise KeyError(raw)
    return p


# The snapshot table of the last encode: a ref change re-encodes the same records,
# a commit the same plus one.
_LAST_TABLE: list[_SnapshotTable] = []


def _snapshot_table(records: dict[ObjectId, SnapshotRecord]) -> _SnapshotTable:
    """The table of ``records``, reusing the last one when it holds the very same records."""
    last = _LAST_TABLE[0] if _LAST_TABLE else None
    values = tuple(records.values())
    table = None
    # (tuple equality compares identical items by identity first: C speed; equal records
    # that are not identical give the same table too)
    if last is not None and len(last.records) <= len(values) and \
            last.records == values[:len(last.records)]:
        table = last if len(last.records) == len(values) else last.extended(values)
    if table is None:
        table = _SnapshotTable.build(values)
    _LAST_TABLE[:] = [table]
    return table


# One RefInfo table per ref, each record 4-aligned: its vtable (name @4, index @8;
# table 12 bytes), the table (soffset 8, name uoffset 8, index) and the name string
# (length, bytes, NUL, padding to 4). The header of a record is one struct.
_REF_RECORD = struct.Struct("<4HiIII")
_REF_TAIL = [b"\0" * (1 + (3 - k) % 4) for k in range(4)]  # NUL + padding, by len % 4


def _refs_bytes(items: list[tuple[bytes, int]]) -> bytes:
    """The bytes of a vector of RefInfo tables for ``(name, snapshot index)`` pairs, to
    be placed at a 4-aligned position (all offsets are relative to it).

    One struct per ref and one join, instead of a table writer per ref: a repository
    with many branches and tags re-encodes them on every commit and ref change.
    """
    n = len(items)
    pack, tail = _REF_RECORD.pack, _REF_TAIL
    records = [pack(8, 12, 4, 8, 8, 8, idx, len(name)) + name + tail[len(name) & 3]
               for name, idx in items]
    # slot i (at 4 + 4 i) points at record i's table, 8 bytes into the record, which
    # starts after the 4 + 4 n bytes of the offset vector and the records before it
    starts = itertools.accumulate(map(len, records), initial=8 + 4 * n)
    offsets = [start - 4 * i for i, start in zip(range(n), starts)]
    return struct.pack(f"<{n + 1}I", n, *offsets) + b"".join(records)


def encode_repo_info(info: RepoInfo, level: int = ZSTD_LEVEL) -> bytes:
    """Complete repo info file bytes of ``info``."""
    table = _snapshot_table(info.snapshots)

    def refs(d: dict[str, ObjectId]) -> Raw:
        items = sorted((name.encode(), table.index(sid.raw)) for name, sid in d.items())
        data = _refs_bytes(items)
        return Raw(lambda _pos: data)

    update_vec = _update_vec(info.latest_updates)

    root = T(
        (0, "u8", info.spec_version),
        (1, "off", refs(info.tags)),
        (2, "off", refs(info.branches)),
        (3, "off", Vec([Str(s) for s in sorted(info.deleted_tags, key=str.encode)])),
        (4, "off", table.vec),
        (5, "off", _status_obj(info.status)),
        (6, "off", _metadata_obj(info.metadata)),
        (7, "off", update_vec),
        (8, "off", None if info.repo_before_updates is None else Str(info.repo_before_updates)),
        (9, "off", None if info.config is None else Blob(_flex.encode(info.config))),
        (10, "off", _fb.u16_vec(sorted(info.enabled_feature_flags))),
        (11, "off", _fb.u16_vec(sorted(info.disabled_feature_flags))),
        (12, "off", _opt_blob(info.extra)),
    )
    return encode_file(FileType.REPO_INFO, _fb.finish(root), level=level)


def decode_repo_info(data: bytes, what: str = "repo") -> RepoInfo:
    """Decode complete repo info file bytes."""
    r = _fb.Reader(decode_file(data, FileType.REPO_INFO, what), what)
    root = r.root()
    infos = root.need(root.tables(4), "snapshots")
    ids = [_oid(s, 0, "id") for s in infos]
    snapshots: dict[ObjectId, SnapshotRecord] = {}
    for sid, s in zip(ids, infos):
        p = s.scalar(1, "i32")
        if p < -1 or p >= len(ids):
            r.fail(f"snapshot parent index {p} out of range")
        flushed_at = s.scalar(2, "u64")
        pruned = s.structs(5, 12)
        pruned_ids = None if pruned is None else [ObjectId(x) for x in pruned]
        # message and metadata of a snapshot never change: decode them once
        key = (sid.raw, flushed_at)
        body = _DECODED_SNAPSHOTS.get(key)
        if body is None:
            if len(_DECODED_SNAPSHOTS) >= _IMAGES_MAX:
                _DECODED_SNAPSHOTS.clear()
            body = _DECODED_SNAPSHOTS[key] = (s.need(s.string(3), "message"),
                                              _metadata(s, 4, what))
        snapshots[sid] = SnapshotRecord(sid, None if p == -1 else ids[p], flushed_at,
                                        body[0], body[1], pruned_ids)

    def refs(slot: int, name: str) -> dict[str, ObjectId]:
        out = {}
        for ref in root.need(root.tables(slot), name):
            i = ref.scalar(1, "u32")
            if i >= len(ids):
                r.fail(f"{name} ref points at snapshot index {i} of {len(ids)}")
            out[ref.need(ref.string(0), "name")] = ids[i]
        return out

    config = root.bytes(9)
    return RepoInfo(
        spec_version=root.scalar(0, "u8"),
        branches=refs(2, "branches"),
        tags=refs(1, "tags"),
        deleted_tags=set(root.need(root.strings(3), "deleted_tags")),
        snapshots=snapshots,
        status=_status(root.need(root.table(5), "status")),
        metadata=_metadata(root, 6, what),
        latest_updates=[_update_cached(u) for u in root.need(root.tables(7), "latest_updates")],
        repo_before_updates=root.string(8),
        config=None if config is None else _flex.decode(config, what),
        enabled_feature_flags=root.scalars(10, "u16") or [],
        disabled_feature_flags=root.scalars(11, "u16") or [],
        extra=root.bytes(12),
    )


# --------------------------------------------------------------- snapshot


def _node_obj(n: NodeSnapshot) -> T:
    if n.array is None:
        kind, body = 2, T()
    else:
        a = n.array
        dims = None if a.dimension_names is None else Vec(
            [T((0, "off", None if d is None else Str(d))) for d in a.dimension_names])
        mrefs = Vec([T((0, "struct", m.object_id.raw),
                       (1, "off", Blob(np.array(m.extents, "<u4").reshape(-1).tobytes(),
                                       len(m.extents), 4)))
                     for m in a.manifests])
        body = T((0, "off", Blob(b"", 0, 8)), (1, "off", dims), (2, "off", mrefs),
                 (3, "off", Vec([T((0, "u64", length), (1, "u32", nchunks))
                                 for length, nchunks in a.shape])))
        kind = 1
    return T((0, "struct", n.id.raw), (1, "off", Str(n.path)),
             (2, "off", Blob(bytes(n.user_data))), (3, "u8", kind), (4, "off", body),
             (5, "off", _opt_blob(n.extra)))


def _node_image(n: NodeSnapshot) -> _fb.Image:
    """The encoded node table of ``n``, cached by content: a commit re-encodes only the
    nodes it changed (the others are equal to, and mostly the very objects of, its base)."""
    a = n.array
    ud = n.user_data if type(n.user_data) is bytes else bytes(n.user_data)
    akey = None if a is None else (
        a.shape, a.dimension_names, tuple((m.object_id.raw, m.extents) for m in a.manifests))
    try:
        return _image(("n", n.id.raw, n.path, ud, akey, n.extra), n, _node_obj,
                      extra_bytes=len(ud))[0]
    except TypeError:  # a list where a tuple is expected: not hashable, not cached
        return _fb.Image(_node_obj(n))


def encode_snapshot(s: Snapshot, level: int = ZSTD_LEVEL) -> bytes:
    """Complete snapshot file bytes of ``s`` (spec-2 layout)."""
    nodes = sorted(s.nodes, key=lambda n: n.path.encode())
    files = sorted(s.manifest_files, key=lambda f: f.id.raw)
    root = T(
        (0, "struct", s.id.raw),
        (1, "struct", None if s.parent_id is None else s.parent_id.raw),
        (2, "off", _fb.image_vec([_node_image(n) for n in nodes])),
        (3, "u64", s.flushed_at),
        (4, "off", Str(s.message)),
        (5, "off", _metadata_obj(s.metadata)),
        (6, "off", Blob(b"", 0, 8)),
        (7, "off", Vec([T((0, "struct", f.id.raw), (1, "u64", f.size_bytes),
                          (2, "u32", f.num_chunk_refs)) for f in files])),
        (8, "off", _opt_blob(s.extra)),
    )
    return encode_file(FileType.SNAPSHOT, _fb.finish(root), level=level)


def _node(t: Tab) -> NodeSnapshot:
    kind = t.scalar(3, "u8")
    body = t.need(t.table(4), "node_data")
    if kind == 2:
        array = None
    elif kind == 1:
        shape = [(d.scalar(0, "u64"), d.scalar(1, "u32"))
                 for d in body.need(body.tables(3), "shape_v2")]
        dn = body.tables(1)
        manifests = []
        for m in body.need(body.tables(2), "manifests"):
            ext = m.need(m.structs(1, 8), "extents")
            manifests.append(ManifestRef(_oid(m, 0, "object_id"),
                                         tuple(struct.unpack("<2I", e) for e in ext)))
        array = ArrayData(tuple(shape), None if dn is None else tuple(d.string(0) for d in dn),
                          manifests)
    else:
        t.r.fail(f"unknown node data type {kind}")
    return NodeSnapshot(_nid(t, 0, "id"), t.need(t.string(1), "path"),
                        t.need(t.bytes(2), "user_data"), array, t.bytes(5))


def decode_snapshot(data: bytes, what: str) -> Snapshot:
    """Decode complete snapshot file bytes."""
    r = _fb.Reader(decode_file(data, FileType.SNAPSHOT, what), what)
    root = r.root()
    parent = root.struct_bytes(1, 12)
    files = [ManifestFileInfo(_oid(f, 0, "id"), f.scalar(1, "u64"), f.scalar(2, "u32"))
             for f in root.tables(7) or []]
    return Snapshot(
        id=_oid(root, 0, "id"),
        nodes=[_node(n) for n in root.need(root.tables(2), "nodes")],
        flushed_at=root.scalar(3, "u64"),
        message=root.need(root.string(4), "message"),
        metadata=_metadata(root, 5, what),
        manifest_files=files,
        parent_id=None if parent is None else ObjectId(parent),
        extra=root.bytes(8),
    )


# -------------------------------------------------------- transaction log


def encode_transaction_log(tx: TransactionLog, level: int = ZSTD_LEVEL) -> bytes:
    """Complete transaction log file bytes of ``tx``."""
    chunks = []
    for nid in sorted(tx.updated_chunks, key=lambda n: n.raw):
        c = np.asarray(tx.updated_chunks[nid], np.uint32)
        c = c.reshape(len(c), -1) if c.size else c.reshape(len(c), c.shape[1] if c.ndim == 2 else 0)
        if len(c) > 1 and c.shape[1]:
            c = c[np.lexsort(c.T[::-1])]
        chunks.append(T((0, "struct", nid.raw), (1, "off", _chunk_indices_obj(c))))
    moves = sorted(tx.moved_nodes, key=lambda m: [s.encode() for s in m.to_path.split("/")])
    root = T(
        (0, "struct", tx.id.raw),
        (1, "off", _ids_blob(tx.new_groups)),
        (2, "off", _ids_blob(tx.new_arrays)),
        (3, "off", _ids_blob(tx.deleted_groups)),
        (4, "off", _ids_blob(tx.deleted_arrays)),
        (5, "off", _ids_blob(tx.updated_arrays)),
        (6, "off", _ids_blob(tx.updated_groups)),
        (7, "off", Vec(chunks)),
        (8, "off", Vec([T((0, "off", Str(m.from_path)), (1, "off", Str(m.to_path)),
                          (2, "struct", m.node_id.raw), (3, "u8", 1 if m.is_array else 0))
                        for m in moves])),
        (9, "off", _opt_blob(tx.extra)),
    )
    return encode_file(FileType.TRANSACTION_LOG, _fb.finish(root), level=level)


# The shared ChunkIndices vtable: 1 slot, table 8 bytes, coords@4.
_COORDS_VT = np.array([6, 8, 4], "<u2").tobytes()


def _chunk_indices_obj(c: np.ndarray) -> Raw:
    """A vector of ``ChunkIndices`` tables, one per row of ``c``, laid out with numpy.

    Layout (``pos`` is 4-aligned): the offset vector, the one shared vtable,
    then, 4-aligned, one fixed-size record per row: the table (soffset,
    uoffset 4) and right after it the row's coordinate vector.
    """
    n, ndim = c.shape

    def make(pos: int) -> bytes:
        vt = pos + 4 + 4 * n
        first = -(-(vt + len(_COORDS_VT)) // 4) * 4
        words = 3 + ndim
        starts = first + 4 * words * np.arange(n, dtype=np.int64)
        head = np.empty(n + 1, "<u4")
        head[0] = n
        head[1:] = starts - (pos + 4 + 4 * np.arange(n, dtype=np.int64))
        rec = np.empty((n, words), "<u4")
        rec[:, 0] = starts - vt
        rec[:, 1] = 4
        rec[:, 2] = ndim
        rec[:, 3:] = c
        gap = bytes(first - vt - len(_COORDS_VT))
        return head.tobytes() + _COORDS_VT + gap + rec.tobytes()

    return Raw(make)


def decode_transaction_log(data: bytes, what: str) -> TransactionLog:
    """Decode complete transaction log file bytes."""
    r = _fb.Reader(decode_file(data, FileType.TRANSACTION_LOG, what), what)
    root = r.root()

    def ids(slot: int, name: str) -> list[NodeId]:
        return [NodeId(x) for x in root.need(root.structs(slot, 8), name)]

    updated: dict[NodeId, np.ndarray] = {}
    for a in root.need(root.tables(7), "updated_chunks"):
        v = a.need(a.vector(1, 4), "chunks")
        col = TableColumn(r, v[0], v[1])
        f = col.field(0, 4)
        if (f == 0).any():
            r.fail("chunk indices without coords")
        updated[_nid(a, 0, "node_id")] = col.u32_vectors(col.target(f))
    moves = []
    for m in root.tables(8) or []:
        nt = m.scalar(3, "u8")
        if nt > 1:
            r.fail(f"unknown node type {nt}")
        moves.append(MoveOperation(m.need(m.string(0), "from"), m.need(m.string(1), "to"),
                                   _nid(m, 2, "node_id"), nt == 1))
    return TransactionLog(
        id=_oid(root, 0, "id"),
        new_groups=ids(1, "new_groups"), new_arrays=ids(2, "new_arrays"),
        deleted_groups=ids(3, "deleted_groups"), deleted_arrays=ids(4, "deleted_arrays"),
        updated_arrays=ids(5, "updated_arrays"), updated_groups=ids(6, "updated_groups"),
        updated_chunks=updated, moved_nodes=moves, extra=root.bytes(9),
    )
