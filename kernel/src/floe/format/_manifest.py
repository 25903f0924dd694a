"""Manifest file codec, columnar both ways.

Encoding lays each array's ``refs`` vector out directly with numpy: the
offset vector, one shared vtable, then one fixed-size record per native ref
(table + coordinate vector). Inline and virtual refs, which carry
variable-size data, are written one by one, each as a self-contained record
with its own vtable. Decoding reads all refs of an array through
:class:`~floe.format._columns.TableColumn` and only touches Python objects for
inline data, locations and etags.
"""

from __future__ import annotations

import numpy as np
import zstandard

from floe.format import _fb
from floe.format._columns import TableColumn, gather
from floe.format._fb import T, Blob, Raw, Str, Vec
from floe.format.header import FileType, decode_file, encode_file
from floe.format.ids import NodeId, ObjectId
from floe.format.model import KIND_INLINE, KIND_NATIVE, KIND_VIRTUAL, ArrayRefs, Manifest

# ChunkRef slots
_INDEX, _INLINE, _OFFSET, _LENGTH, _CHUNK_ID = 0, 1, 2, 3, 4
_LOCATION, _ETAG, _LAST_MOD, _COMPRESSED, _EXTRA = 5, 6, 7, 8, 9
# Manifest.compression_algorithm: what icechunk writes when no location is
# dictionary-compressed.
COMPRESSION_NONE = 0
COMPRESSION_ZSTD = 1

# The shared native vtable: 5 slots, table 40 bytes; index@4 offset@8
# length@16 chunk_id@24 (4 pad bytes at 36).
_NATIVE_VT = np.array([14, 40, 4, 0, 8, 16, 24], "<u2").tobytes()


def encode_manifest(m: Manifest) -> bytes:
    """Complete manifest file bytes (header + zstd flatbuffer) of ``m``."""
    arrays = sorted(m.arrays, key=lambda a: a.node_id.raw)
    root = T(
        (0, "struct", m.id.raw),
        (1, "off", Vec([T((0, "struct", a.node_id.raw), (1, "off", _refs_obj(a)))
                        for a in arrays])),
        (3, "u8", COMPRESSION_NONE),
    )
    return encode_file(FileType.MANIFEST, _fb.finish(root))


def _sorted(a: ArrayRefs) -> ArrayRefs:
    n = len(a)
    coords = np.asarray(a.coords, np.uint32).reshape(n, -1) if n else np.zeros((0, 0), np.uint32)
    if n < 2:
        return a
    order = np.lexsort(coords.T[::-1]) if coords.shape[1] else np.arange(n)
    if (order == np.arange(n)).all():
        return a
    return ArrayRefs(a.node_id, coords[order], np.asarray(a.kinds)[order],
                     np.asarray(a.offsets)[order], np.asarray(a.lengths)[order],
                     np.asarray(a.chunk_ids)[order], [a.inline[i] for i in order],
                     [a.locations[i] for i in order], [a.etags[i] for i in order],
                     np.asarray(a.last_modified)[order])


def _refs_obj(a: ArrayRefs) -> Raw:
    a = _sorted(a)
    n = len(a)
    coords = (np.asarray(a.coords, np.uint32).reshape(n, -1) if n
              else np.zeros((0, 0), np.uint32))
    ndim = coords.shape[1]
    kinds = np.asarray(a.kinds)
    native = kinds == KIND_NATIVE
    vec_bytes = 4 + 4 * ndim
    rec_native = 40 + -(-vec_bytes // 8) * 8
    others = {int(i): _other_record(a, int(i), coords[i]) for i in np.flatnonzero(~native)}

    def make(pos: int) -> bytes:
        vt = pos + 4 + 4 * n
        first = -(-(vt + len(_NATIVE_VT)) // 8) * 8
        sizes = np.full(n, rec_native, np.int64)
        for i, (rec, _t) in others.items():
            sizes[i] = len(rec)
        starts = first + np.concatenate(([0], np.cumsum(sizes)[:-1])) if n else sizes
        total = (first + int(sizes.sum())) - pos
        out = np.zeros(total, np.uint8)
        tpos = starts.copy()
        for i, (_rec, t) in others.items():
            tpos[i] += t
        slot_at = pos + 4 + 4 * np.arange(n, dtype=np.int64)
        head = np.empty(n + 1, "<u4")
        head[0] = n
        head[1:] = tpos - slot_at
        out[: 4 * (n + 1)] = head.view(np.uint8)
        out[vt - pos : vt - pos + len(_NATIVE_VT)] = np.frombuffer(_NATIVE_VT, np.uint8)
        k = int(native.sum())
        if k:
            rec = np.zeros((k, rec_native), np.uint8)
            ts = starts[native]
            rec[:, 0:4] = (ts - vt).astype("<i4").view(np.uint8).reshape(k, 4)
            rec[:, 4:8] = np.frombuffer(np.array([36], "<u4").tobytes(), np.uint8)
            rec[:, 8:16] = np.asarray(a.offsets)[native].astype("<u8").view(np.uint8).reshape(k, 8)
            rec[:, 16:24] = np.asarray(a.lengths)[native].astype("<u8").view(np.uint8).reshape(k, 8)
            rec[:, 24:36] = np.asarray(a.chunk_ids, np.uint8).reshape(n, 12)[native]
            rec[:, 40:44] = np.frombuffer(np.array([ndim], "<u4").tobytes(), np.uint8)
            if ndim:
                rec[:, 44:44 + 4 * ndim] = coords[native].astype("<u4").view(np.uint8).reshape(k, -1)
            if k == n:
                out[first - pos:] = rec.reshape(-1)
            else:
                idx = (ts - pos)[:, None] + np.arange(rec_native, dtype=np.int64)
                out[idx] = rec
        for i, (r, _t) in others.items():
            s = int(starts[i]) - pos
            out[s : s + len(r)] = np.frombuffer(r, np.uint8)
        return out.tobytes()

    return Raw(make)


def _other_record(a: ArrayRefs, i: int, coords: np.ndarray) -> tuple[bytes, int]:
    """A self-contained, 8-byte-padded record (vtable, table, data) of ref ``i``."""
    kind = int(a.kinds[i])
    idx = _fb.u32_vec([int(c) for c in coords])
    if kind == KIND_INLINE:
        data = a.inline[i]
        if data is None:
            raise ValueError(f"inline chunk ref {i} has no data")
        t = T((_INDEX, "off", idx), (_INLINE, "off", Blob(bytes(data))))
    elif kind == KIND_VIRTUAL:
        loc = a.locations[i]
        if loc is None:
            raise ValueError(f"virtual chunk ref {i} has no location")
        etag = a.etags[i]
        lm = int(a.last_modified[i])
        t = T((_INDEX, "off", idx), (_OFFSET, "u64", int(a.offsets[i])),
              (_LENGTH, "u64", int(a.lengths[i])), (_LOCATION, "off", Str(loc)),
              (_ETAG, "off", None if etag is None else Str(etag)),
              (_LAST_MOD, "u32", lm if lm else None))
    else:
        raise ValueError(f"unknown chunk ref kind {kind}")
    out = bytearray()
    tpos = t.write(out)
    _fb._pad(out, 8)
    return bytes(out), tpos


# ------------------------------------------------------------------ decoding


def decode_manifest(data: bytes, what: str) -> Manifest:
    """Decode complete manifest file bytes (see :func:`encode_manifest`)."""
    r = _fb.Reader(decode_file(data, FileType.MANIFEST, what), what)
    root = r.root()
    mid = root.need(root.struct_bytes(0, 12), "id")
    dictionary = root.bytes(2)
    algo = root.scalar(3, "u8", COMPRESSION_ZSTD)
    arrays = []
    for am in root.need(root.tables(1), "arrays"):
        nid = am.need(am.struct_bytes(0, 8), "node_id")
        refs = am.need(am.vector(1, 4), "refs")
        arrays.append(_decode_refs(r, NodeId(nid), refs[0], refs[1], dictionary, algo))
    return Manifest(ObjectId(mid), arrays)


def _decode_refs(r: _fb.Reader, node_id: NodeId, start: int, n: int,
                 dictionary: bytes | None, algo: int) -> ArrayRefs:
    col = TableColumn(r, start, n)
    b = col.b
    index_f = col.field(_INDEX, 4)
    if (index_f == 0).any():
        r.fail("chunk ref without its required 'index'")
    coords = col.u32_vectors(col.target(index_f))
    inline_f = col.field(_INLINE, 4)
    cid_f = col.field(_CHUNK_ID, 12)
    loc_f = col.field(_LOCATION, 4)
    cloc_f = col.field(_COMPRESSED, 4)
    etag_f = col.field(_ETAG, 4)
    kinds = np.full(n, -1, np.int8)
    kinds[(loc_f > 0) | (cloc_f > 0)] = KIND_VIRTUAL
    kinds[cid_f > 0] = KIND_NATIVE
    kinds[inline_f > 0] = KIND_INLINE
    if (kinds < 0).any():
        r.fail("chunk ref that is neither inline, native nor virtual")
    offsets = _u64_field(col, _OFFSET)
    lengths = _u64_field(col, _LENGTH)
    chunk_ids = np.zeros((n, 12), np.uint8)
    native = np.flatnonzero(cid_f)
    if native.size:
        chunk_ids[native] = b[cid_f[native][:, None] + np.arange(12, dtype=np.int64)]
    lm_f = col.field(_LAST_MOD, 4)
    last_modified = np.zeros(n, np.uint32)
    has_lm = np.flatnonzero(lm_f)
    if has_lm.size:
        last_modified[has_lm] = gather(b, lm_f[has_lm], 4)
    inline: list[bytes | None] = [None] * n
    for i in np.flatnonzero(inline_f).tolist():
        inline[i] = _bytes_at(r, col, int(inline_f[i]))
    locations: list[str | None] = [None] * n
    etags: list[str | None] = [None] * n
    decompressor = None
    for i in np.flatnonzero(kinds == KIND_VIRTUAL).tolist():
        if loc_f[i]:
            locations[i] = _str_at(r, col, int(loc_f[i]))
        else:
            if decompressor is None:
                decompressor = _location_decompressor(r, dictionary, algo)
            raw = _bytes_at(r, col, int(cloc_f[i]))
            try:
                locations[i] = decompressor.decompress(raw, max_output_size=1 << 20).decode()
            except (zstandard.ZstdError, UnicodeDecodeError) as e:
                r.fail(f"corrupt compressed chunk location ({e})")
        if etag_f[i]:
            etags[i] = _str_at(r, col, int(etag_f[i]))
    return ArrayRefs(node_id, coords, kinds.astype(np.uint8), offsets, lengths, chunk_ids,
                     inline, locations, etags, last_modified)


def _u64_field(col: TableColumn, slot: int) -> np.ndarray:
    f = col.field(slot, 8)
    out = np.zeros(col.n, np.uint64)
    has = np.flatnonzero(f)
    if has.size:
        out[has] = gather(col.b, f[has], 8)
    return out


def _bytes_at(r: _fb.Reader, col: TableColumn, fpos: int) -> bytes:
    p = int(col.target(np.array([fpos], np.int64))[0])
    n = r.scalar(_fb._U32, p)
    if p + 4 + n > r.n:
        r.fail("byte vector runs past the end")
    return bytes(r.buf[p + 4 : p + 4 + n])


def _str_at(r: _fb.Reader, col: TableColumn, fpos: int) -> str:
    raw = _bytes_at(r, col, fpos)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        r.fail("string is not valid UTF-8")


def _location_decompressor(r: _fb.Reader, dictionary: bytes | None,
                           algo: int) -> zstandard.ZstdDecompressor:
    if algo != COMPRESSION_ZSTD:
        r.fail(f"compressed chunk location with compression algorithm {algo}")
    try:
        if dictionary:
            return zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary))
        return zstandard.ZstdDecompressor()
    except zstandard.ZstdError as e:
        r.fail(f"bad location dictionary ({e})")
