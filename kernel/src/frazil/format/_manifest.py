"""Manifest file codec, columnar both ways.

Encoding lays each array's ``refs`` vector out directly with numpy: the
offset vector, one shared vtable per kind of ref (and per field-presence
pattern of virtual refs), then one record per ref (table + the vectors and
strings it points at); record sizes come from a cumulative sum, fixed fields
are scattered through a ``uint32`` view and variable data (inline bytes,
locations, etags) is concatenated and scattered in one go. Decoding reads all
refs of an array through :class:`~frazil.format._columns.TableColumn` and only
touches Python objects to slice out inline data, locations and etags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import zstandard

from frazil.format import _fb
from frazil.format._columns import TableColumn, gather
from frazil.format._fb import Raw, T, Vec
from frazil.format.header import ZSTD_LEVEL, FileType, decode_file, encode_file
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import KIND_INLINE, KIND_NATIVE, KIND_VIRTUAL, ArrayRefs, Manifest

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
# The shared inline vtable: 2 slots, table 12 bytes; index@4 inline@8.
_INLINE_VT = np.array([8, 12, 4, 8], "<u2").tobytes()
# The shared virtual vtables, by pattern (1: has etag, 2: has last_modified):
# 8 slots, table 36 bytes; index@4 offset@8 length@16 location@24 etag@28
# last_modified@32 (the slot of an absent field is 0).
_VIRTUAL_VTS = [np.array([20, 36, 4, 0, 8, 16, 0, 24, 28 if p & 1 else 0, 32 if p & 2 else 0],
                         "<u2").tobytes() for p in range(4)]


# A virtual vtable whose record keeps the location bytes at table offset 24,
# addressed by slot 8 (compressed_location, a [ubyte]) instead of slot 5.
_CVIRTUAL_VTS = [np.array([24, 36, 4, 0, 8, 16, 0, 0, 28 if p & 1 else 0, 32 if p & 2 else 0,
                           24, 0], "<u2").tobytes() for p in range(4)]


def location_compressor(m: Manifest, config: Any
                        ) -> tuple[bytes, zstandard.ZstdCompressor] | None:
    """A trained zstd dictionary and compressor for the virtual locations of ``m``.

    ``config`` is the repository config's
    ``manifest.virtual_chunk_location_compression`` dict (``None``: disabled).
    ``None`` when there are fewer than ``min_num_chunks`` virtual refs or the
    samples are too few to train a dictionary (locations are then stored plain).
    """
    if not isinstance(config, dict):
        return None
    min_n = config.get("min_num_chunks")
    max_samples = config.get("dictionary_max_training_samples")
    max_size = config.get("dictionary_max_size_bytes")
    level = config.get("compression_level")
    locs = [loc for a in m.arrays for k, loc in zip(np.asarray(a.kinds).tolist(), a.locations)
            if k == KIND_VIRTUAL and loc is not None]
    if not locs or len(locs) < (1000 if min_n is None else int(min_n)):
        return None
    n_samples = 100 if max_samples is None else max(1, int(max_samples))
    step = max(1, len(locs) // n_samples)
    samples: list[bytes | bytearray | memoryview] = [
        loc.encode("utf-8") for loc in locs[::step][:n_samples]]
    try:
        d = zstandard.train_dictionary(2048 if max_size is None else int(max_size), samples)
    except zstandard.ZstdError:
        return None
    return d.as_bytes(), zstandard.ZstdCompressor(level=3 if level is None else int(level),
                                                  dict_data=d)


def encode_manifest(m: Manifest, location_compression: Any = None,
                    level: int = ZSTD_LEVEL) -> bytes:
    """Complete manifest file bytes (header + zstd flatbuffer) of ``m``.

    ``location_compression``: the ``virtual_chunk_location_compression`` config
    dict; when it applies, locations are written as ``compressed_location``
    with the trained ``location_dictionary``.
    """
    arrays = sorted(m.arrays, key=lambda a: a.node_id.raw)
    comp = location_compressor(m, location_compression)
    cctx = comp[1] if comp else None
    fields: list[Any] = [
        (0, "struct", m.id.raw),
        (1, "off", Vec([T((0, "struct", a.node_id.raw), (1, "off", _refs_obj(a, cctx)))
                        for a in arrays])),
    ]
    if comp:
        fields.append((2, "off", _fb.Blob(comp[0])))
    fields.append((3, "u8", COMPRESSION_ZSTD if comp else COMPRESSION_NONE))
    return encode_file(FileType.MANIFEST, _fb.finish(T(*fields)), level=level)


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


def _refs_obj(a: ArrayRefs, cctx: zstandard.ZstdCompressor | None = None) -> Raw:
    """The ``refs`` vector of ``a``, laid out with numpy.

    Layout (``pos`` is 4-aligned): the offset vector, then the shared
    vtables (native always; inline and one per virtual field-presence pattern
    when used), then, 8-aligned, one record per ref in ref order. A record is
    the table followed by the objects it points at, so every uoffset points
    forward; every record starts 8-aligned and is padded to a multiple of 8.

    * native: see :data:`_NATIVE_VT`.
    * inline (table 12 bytes): index@4 inline@8 | index vector @12 |
      inline byte vector @16+4*ndim.
    * virtual (table 36 bytes): index@4 offset@8 length@16 location@24
      etag@28 last_modified@32 | index vector @36 | location string
      @40+4*ndim | etag string (if any) right after it.
    """
    a = _sorted(a)
    n = len(a)
    coords = (np.asarray(a.coords, np.uint32).reshape(n, -1) if n
              else np.zeros((0, 0), np.uint32))
    ndim = coords.shape[1]
    kinds = np.asarray(a.kinds)
    native = kinds == KIND_NATIVE
    inl = np.flatnonzero(kinds == KIND_INLINE)
    vir = np.flatnonzero(kinds == KIND_VIRTUAL)
    if int(native.sum()) + inl.size + vir.size != n:
        bad = int(np.flatnonzero(~native & (kinds != KIND_INLINE) & (kinds != KIND_VIRTUAL))[0])
        raise ValueError(f"unknown chunk ref kind {int(kinds[bad])}")
    rec_native = 40 + -(-(4 + 4 * ndim) // 8) * 8
    sizes = np.full(n, rec_native, np.int64)

    if inl.size:
        inline = a.inline
        idata = list(inline) if inl.size == len(inline) else [inline[i] for i in inl.tolist()]
        missing = next((k for k, d in enumerate(idata) if d is None), None)
        if missing is not None:
            raise ValueError(f"inline chunk ref {int(inl[missing])} has no data")
        if not all(type(d) is bytes for d in idata):
            idata = [bytes(d) for d in idata]
        ilen = np.fromiter(map(len, idata), np.int64, inl.size)
        sizes[inl] = (20 + 4 * ndim + ilen + 7) & ~7

    l0 = 40 + 4 * ndim  # location string within a virtual record
    if vir.size:
        lbytes = []
        for i in vir.tolist():
            loc = a.locations[i]
            if loc is None:
                raise ValueError(f"virtual chunk ref {i} has no location")
            lbytes.append(loc.encode("utf-8") if cctx is None
                          else cctx.compress(loc.encode("utf-8")))
        llen = np.fromiter(map(len, lbytes), np.int64, vir.size)
        etl = [a.etags[i] for i in vir.tolist()]
        has_e = np.fromiter((e is not None for e in etl), bool, vir.size)
        ebytes = [e.encode("utf-8") for e in etl if e is not None]
        elen = np.fromiter(map(len, ebytes), np.int64, len(ebytes))
        lm = np.asarray(a.last_modified)[vir].astype(np.uint32)
        has_lm = lm != 0
        locsz = 4 + ((llen + 4) & ~3)  # length, bytes, NUL, pad to 4
        etsz = np.zeros(vir.size, np.int64)
        etsz[has_e] = 4 + ((elen + 4) & ~3)
        sizes[vir] = (l0 + locsz + etsz + 7) & ~7
        pattern = has_e.astype(np.int64) + 2 * has_lm
        used = np.unique(pattern).tolist()

    def make(pos: int) -> bytes:
        vt = pos + 4 + 4 * n
        vtables = [_NATIVE_VT]
        cur = vt + len(_NATIVE_VT)
        if inl.size:
            inline_vt = cur
            vtables.append(_INLINE_VT)
            cur += len(_INLINE_VT)
        if vir.size:
            vir_vt = np.zeros(4, np.int64)
            for p in used:
                vir_vt[p] = cur
                vts = _VIRTUAL_VTS if cctx is None else _CVIRTUAL_VTS
                vtables.append(vts[p])
                cur += len(vts[p])
        first = -(-cur // 8) * 8
        starts = first + np.concatenate(([0], np.cumsum(sizes)[:-1])) if n else sizes
        total = (first + int(sizes.sum())) - pos
        out = np.zeros(total, np.uint8)
        w = out.view("<u4")  # pos is 4-aligned and total a multiple of 4
        w[0] = n
        w[1 : n + 1] = starts - (pos + 4 + 4 * np.arange(n, dtype=np.int64))
        out[vt - pos : cur - pos] = np.frombuffer(b"".join(vtables), np.uint8)
        rs = starts - pos  # record starts, relative to ``out``
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
                rec[:, 44:44 + 4 * ndim] = \
                    coords[native].astype("<u4").view(np.uint8).reshape(k, -1)
            if k == n:
                out[first - pos:] = rec.reshape(-1)
            else:
                idx = rs[native][:, None] + np.arange(rec_native, dtype=np.int64)
                out[idx] = rec
        if inl.size:
            q = rs[inl] // 4
            w[q] = starts[inl] - inline_vt
            w[q + 1] = 8
            w[q + 2] = 8 + 4 * ndim
            w[q + 3] = ndim
            if ndim:
                w[(q + 4)[:, None] + np.arange(ndim)] = coords[inl]
            w[q + 4 + ndim] = ilen
            _scatter(out, rs[inl] + 20 + 4 * ndim, idata, ilen)
        if vir.size:
            r = rs[vir]
            q = r // 4
            w[q] = starts[vir] - vir_vt[pattern]
            w[q + 1] = 32
            for word, col in ((2, a.offsets), (4, a.lengths)):
                v = np.asarray(col)[vir].astype(np.uint64)
                w[q + word] = v & np.uint64(0xFFFFFFFF)
                w[q + word + 1] = v >> np.uint64(32)
            w[q + 6] = l0 - 24
            e = np.flatnonzero(has_e)
            w[q[e] + 7] = l0 + locsz[e] - 28
            w[q + 8] = lm
            w[q + 9] = ndim
            if ndim:
                w[(q + 10)[:, None] + np.arange(ndim)] = coords[vir]
            w[q + 10 + ndim] = llen
            _scatter(out, r + l0 + 4, lbytes, llen)
            if e.size:
                ep = r[e] + l0 + locsz[e]
                w[ep // 4] = elen
                _scatter(out, ep + 4, ebytes, elen)
        return out.tobytes()

    return Raw(make)


_MAX_LOCATION = 1 << 16  # bytes of one decompressed virtual chunk location (a URL)
_SCATTER_BATCH = 1 << 16  # at most this many pieces per batch
_SCATTER_BYTES = 1 << 18  # and about this many bytes: the index arrays are ~16 B per byte


def _scatter(out: np.ndarray, dst: np.ndarray, pieces: list[bytes], lens: np.ndarray) -> None:
    """Copy ``pieces[i]`` (of length ``lens[i]``) to ``out[dst[i]:]``, in batches.

    Each batch is one vectorised copy; batches are bounded in pieces and in bytes, so the
    index arrays stay small (10,000 inline chunks of 400 bytes would otherwise need 64 MiB
    of indices for 4 MiB of data, a million 40-byte locations about 1 GB).
    """
    n = len(pieces)
    if not n:
        return
    ends = np.cumsum(lens)
    by_bytes = np.searchsorted(ends, np.arange(_SCATTER_BYTES, int(ends[-1]), _SCATTER_BYTES))
    edges = sorted({0, n, *by_bytes.tolist(), *range(0, n, _SCATTER_BATCH)})
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        blob = np.frombuffer(b"".join(pieces[lo:hi]), np.uint8)
        if not blob.size:
            continue
        blen = lens[lo:hi]
        src = np.cumsum(blen) - blen
        out[np.repeat(dst[lo:hi] - src, blen) + np.arange(blob.size, dtype=np.int64)] = blob


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
    ii = np.flatnonzero(inline_f)
    for i, d in zip(ii.tolist(), _byte_vectors(r, col, inline_f[ii])):
        inline[i] = d
    locations: list[str | None] = [None] * n
    etags: list[str | None] = [None] * n
    vi = np.flatnonzero(kinds == KIND_VIRTUAL)
    plain = vi[loc_f[vi] > 0]
    for i, s in zip(plain.tolist(), _strs(r, _byte_vectors(r, col, loc_f[plain]))):
        locations[i] = s
    comp = vi[loc_f[vi] == 0]
    if comp.size:
        decompressor = _location_decompressor(r, dictionary, algo)
        for i, raw in zip(comp.tolist(), _byte_vectors(r, col, cloc_f[comp])):
            try:
                # a frame states its size (or -1): refuse before allocating it
                if zstandard.frame_content_size(raw) > _MAX_LOCATION:
                    r.fail("compressed chunk location claims an implausible size")
                text = decompressor.decompress(raw, max_output_size=_MAX_LOCATION)
                r.charge(len(text))
                locations[i] = text.decode()
            except (zstandard.ZstdError, UnicodeDecodeError) as e:
                r.fail(f"corrupt compressed chunk location ({e})")
    ei = vi[etag_f[vi] > 0]
    for i, s in zip(ei.tolist(), _strs(r, _byte_vectors(r, col, etag_f[ei]))):
        etags[i] = s
    return ArrayRefs(node_id, coords, kinds.astype(np.uint8), offsets, lengths, chunk_ids,
                     inline, locations, etags, last_modified)


def _u64_field(col: TableColumn, slot: int) -> np.ndarray:
    f = col.field(slot, 8)
    out = np.zeros(col.n, np.uint64)
    has = np.flatnonzero(f)
    if has.size:
        out[has] = gather(col.b, f[has], 8)
    return out


def _byte_vectors(r: _fb.Reader, col: TableColumn, fpos: np.ndarray) -> list[bytes]:
    """The byte vectors (or strings' bytes) the offset fields at ``fpos`` point at."""
    if fpos.size == 0:
        return []
    p = col.target(fpos)  # checked: p + 4 <= r.n
    start = p + 4
    end = start + gather(col.b, p, 4)
    if int(end.max()) > r.n:
        r.fail("byte vector runs past the end")
    r.charge(int((end - start).sum()))  # shared vectors would be copied once per entry
    buf = r.buf if type(r.buf) is bytes else bytes(r.buf)
    return [buf[s:e] for s, e in zip(start.tolist(), end.tolist())]


def _strs(r: _fb.Reader, raw: list[bytes]) -> list[str]:
    try:
        return [x.decode("utf-8") for x in raw]
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
