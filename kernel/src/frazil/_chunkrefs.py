"""Columnar chunk-ref operations: lookup, merge with a change set, manifests.

Everything here works on whole ``ArrayRefs`` columns with numpy; Python
loops run over changed chunks only (the change set is keyed by coordinates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import (
    KIND_INLINE,
    KIND_NATIVE,
    KIND_VIRTUAL,
    ArrayRefs,
    ChunkChange,
    InlineChunkRef,
    ManifestRef,
    NativeChunkRef,
    VirtualChunkRef,
)


def empty_refs(node_id: NodeId, ndim: int) -> ArrayRefs:
    return ArrayRefs(node_id, np.zeros((0, ndim), np.uint32), np.zeros(0, np.uint8),
                     np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros((0, 12), np.uint8),
                     [], [], [], np.zeros(0, np.uint32))


def row_keys(coords: np.ndarray) -> np.ndarray:
    """One hashable/sortable bytes key per row (big-endian, so byte order = lexicographic)."""
    c = np.ascontiguousarray(coords.astype(">u4", copy=False))
    return c.view(f"V{4 * max(c.shape[1], 1)}").ravel() if c.shape[1] else \
        np.array([b""] * c.shape[0], dtype="V1")


class RefIndex:
    """Coordinate -> row lookup over one ``ArrayRefs``, built once per manifest."""

    __slots__ = ("refs", "_index")

    def __init__(self, refs: ArrayRefs) -> None:
        self.refs = refs
        keys = row_keys(refs.coords).tolist()
        self._index = dict(zip(keys, range(len(keys)), strict=True))

    def find(self, coords: tuple[int, ...]) -> ChunkChange:
        row = self._index.get(np.array(coords, dtype=">u4").tobytes())
        if row is None:
            return None
        return ref_at(self.refs, row)


def ref_at(refs: ArrayRefs, row: int) -> ChunkChange:
    kind = int(refs.kinds[row])
    if kind == KIND_INLINE:
        return InlineChunkRef(refs.inline[row])  # type: ignore[arg-type]
    if kind == KIND_NATIVE:
        return NativeChunkRef(ObjectId(refs.chunk_ids[row].tobytes()), int(refs.offsets[row]),
                              int(refs.lengths[row]))
    return VirtualChunkRef(refs.locations[row], int(refs.offsets[row]),  # type: ignore[arg-type]
                           int(refs.lengths[row]), refs.etags[row], int(refs.last_modified[row]))


def _obj(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def refs_from_changes(node_id: NodeId, ndim: int,
                      changes: dict[tuple[int, ...], ChunkChange]) -> ArrayRefs:
    """Build columnar refs from the (non-deleted) entries of a change set."""
    items = [(c, r) for c, r in changes.items() if r is not None]
    n = len(items)
    if n == 0:
        return empty_refs(node_id, ndim)
    coords = np.array([c for c, _ in items], dtype=np.uint32).reshape(n, ndim)
    refs = [r for _, r in items]
    kinds = np.zeros(n, np.uint8)
    offsets = np.zeros(n, np.uint64)
    lengths = np.zeros(n, np.uint64)
    chunk_ids = np.zeros((n, 12), np.uint8)
    last_mod = np.zeros(n, np.uint32)
    inline: list[bytes | None] = [r.data if isinstance(r, InlineChunkRef) else None
                                  for r in refs]
    locations: list[str | None] = [None] * n
    etags: list[str | None] = [None] * n
    # column by column per kind, not element by element (no per-chunk numpy calls)
    native = [i for i, r in enumerate(refs) if isinstance(r, NativeChunkRef)]
    if native:
        rows = np.array(native, np.intp)
        nrefs = [refs[i] for i in native]
        kinds[rows] = KIND_NATIVE
        chunk_ids[rows] = np.frombuffer(b"".join([r.chunk_id.raw for r in nrefs]),
                                        np.uint8).reshape(len(native), 12)
        offsets[rows] = [r.offset for r in nrefs]
        lengths[rows] = [r.length for r in nrefs]
    for i, ref in enumerate(refs):
        if not isinstance(ref, (InlineChunkRef, NativeChunkRef)):  # virtual
            kinds[i] = KIND_VIRTUAL
            locations[i], etags[i], last_mod[i] = ref.location, ref.etag, ref.last_modified
            offsets[i], lengths[i] = ref.offset, ref.length
    return ArrayRefs(node_id, coords, kinds, offsets, lengths, chunk_ids, inline, locations,
                     etags, last_mod)


def concat(node_id: NodeId, ndim: int, parts: list[ArrayRefs]) -> ArrayRefs:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_refs(node_id, ndim)
    if len(parts) == 1:
        p = parts[0]
        return ArrayRefs(node_id, p.coords, p.kinds, p.offsets, p.lengths, p.chunk_ids,
                         p.inline, p.locations, p.etags, p.last_modified)
    return ArrayRefs(
        node_id,
        np.concatenate([p.coords for p in parts]),
        np.concatenate([p.kinds for p in parts]),
        np.concatenate([p.offsets for p in parts]),
        np.concatenate([p.lengths for p in parts]),
        np.concatenate([p.chunk_ids for p in parts]),
        [x for p in parts for x in p.inline],
        [x for p in parts for x in p.locations],
        [x for p in parts for x in p.etags],
        np.concatenate([p.last_modified for p in parts]),
    )


def _take_list(values: list[Any], rows: np.ndarray, present: bool) -> list[Any]:
    if not present:  # the common case: a column that is None everywhere
        return [None] * len(rows)
    return _obj(values)[rows].tolist()


def take(refs: ArrayRefs, rows: np.ndarray) -> ArrayRefs:
    if len(rows) == len(refs) and np.array_equal(rows, np.arange(len(refs))):
        return refs
    has_inline = bool(np.any(refs.kinds == KIND_INLINE))
    has_virtual = bool(np.any(refs.kinds == KIND_VIRTUAL))
    return ArrayRefs(refs.node_id, refs.coords[rows], refs.kinds[rows], refs.offsets[rows],
                     refs.lengths[rows], refs.chunk_ids[rows],
                     _take_list(refs.inline, rows, has_inline),
                     _take_list(refs.locations, rows, has_virtual),
                     _take_list(refs.etags, rows, has_virtual), refs.last_modified[rows])


def merge(old: ArrayRefs, changes: dict[tuple[int, ...], ChunkChange],
          num_chunks: tuple[int, ...]) -> ArrayRefs:
    """``old`` with ``changes`` applied, out-of-grid refs dropped, sorted by coords."""
    ndim = len(num_chunks)
    new = refs_from_changes(old.node_id, ndim, changes)
    keep = np.ones(len(old) + len(new), dtype=bool)
    if changes and len(old):
        changed = np.array(list(changes), dtype=np.uint32).reshape(len(changes), ndim)
        keep[: len(old)] = ~np.isin(row_keys(old.coords), row_keys(changed))
    allrefs = concat(old.node_id, ndim, [old, new])
    if len(allrefs) == 0:
        return allrefs
    if ndim:
        keep &= np.all(allrefs.coords < np.asarray(num_chunks, dtype=np.uint64), axis=1)
    rows = np.flatnonzero(keep)
    if ndim:
        rows = rows[np.lexsort(allrefs.coords[rows].T[::-1])]
    return take(allrefs, rows)


def extents(refs: ArrayRefs) -> tuple[tuple[int, int], ...]:
    if refs.coords.shape[1] == 0:
        return ()
    lo = refs.coords.min(axis=0)
    hi = refs.coords.max(axis=0)
    return tuple((int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True))


def covers(mref: ManifestRef, coords: tuple[int, ...]) -> bool:
    return all(a <= c < b for (a, b), c in zip(mref.extents, coords, strict=False))


# ------------------------------------------------- columnar pending virtual refs
class VirtualBatch:
    """Virtual refs set in one ``set_virtual_refs_arr`` call, kept columnar.

    The batch covers the C-ordered block ``offset + [0, shape)`` of the chunk
    grid; row ``i`` is the chunk at ``offset + unravel(i, shape)`` and exists
    where ``valid[i]`` (an empty location means "no chunk"). Lookup is O(1)
    arithmetic, and no per-ref Python object is made until commit.
    """

    __slots__ = ("etag", "last_modified", "lengths", "locations", "offset", "offsets",
                 "shape", "valid")

    def __init__(self, shape: tuple[int, ...], offset: tuple[int, ...], locations: list[str],
                 offsets: np.ndarray, lengths: np.ndarray, valid: np.ndarray,
                 etag: str | None, last_modified: int) -> None:
        self.shape, self.offset = shape, offset
        self.locations, self.offsets, self.lengths = locations, offsets, lengths
        self.valid, self.etag, self.last_modified = valid, etag, last_modified

    def row(self, coords: tuple[int, ...]) -> int | None:
        if len(coords) != len(self.shape):
            return None
        rel = [c - o for c, o in zip(coords, self.offset, strict=True)]
        if any(r < 0 or r >= s for r, s in zip(rel, self.shape, strict=True)):
            return None
        i = int(np.ravel_multi_index(rel, self.shape)) if rel else 0
        return i if self.valid[i] else None

    def find(self, coords: tuple[int, ...]) -> ChunkChange:
        i = self.row(coords)
        if i is None:
            return None
        return VirtualChunkRef(self.locations[i], int(self.offsets[i]), int(self.lengths[i]),
                               self.etag, self.last_modified)

    def rows(self) -> np.ndarray:
        return np.flatnonzero(self.valid)

    def coords(self) -> np.ndarray:
        rows = self.rows()
        if not self.shape:
            return np.zeros((len(rows), 0), np.uint32)
        idx = np.unravel_index(rows, self.shape)
        out = np.empty((len(rows), len(self.shape)), np.uint32)
        for d, (col, off) in enumerate(zip(idx, self.offset, strict=True)):
            out[:, d] = col + off
        return out

    def to_refs(self, node_id: NodeId) -> ArrayRefs:
        rows = self.rows()
        n = len(rows)
        locs: list[str | None]
        if n == len(self.locations):
            locs = list(self.locations)
        else:
            locs = _obj(self.locations)[rows].tolist()
        return ArrayRefs(node_id, self.coords(), np.full(n, KIND_VIRTUAL, np.uint8),
                         self.offsets[rows].astype(np.uint64),
                         self.lengths[rows].astype(np.uint64), np.zeros((n, 12), np.uint8),
                         [None] * n, locs, [self.etag] * n,
                         np.full(n, self.last_modified, np.uint32))

    def drop_from(self, changes: dict[tuple[int, ...], ChunkChange]) -> None:
        """Remove the entries of ``changes`` this (later) batch overrides."""
        for c in [c for c in changes if self.row(c) is not None]:
            del changes[c]


def _linear_keys(coords: np.ndarray, num_chunks: tuple[int, ...]) -> np.ndarray:
    """An order-preserving key per row (C order over the grid, or bytes keys)."""
    if not num_chunks:
        return np.zeros(len(coords), np.int64)
    total = 1
    for n in num_chunks:
        total *= max(n, 1)
    if total < 2**62:
        # numpy's stubs pick the scalar overload for an ndarray[Any] argument
        return np.ravel_multi_index(  # type: ignore[return-value]
            coords.T.astype(np.int64), [max(n, 1) for n in num_chunks])
    return row_keys(coords)


def merge_with_batches(old: ArrayRefs, batches: list[VirtualBatch],
                       changes: dict[tuple[int, ...], ChunkChange],
                       num_chunks: tuple[int, ...]) -> ArrayRefs:
    """``old``, then each batch in order, then ``changes``; later wins, sorted by coords."""
    ndim = len(num_chunks)
    nid = old.node_id
    if not len(old) and not changes and len(batches) == 1:
        # fast path: one batch is already unique and in C (= coordinate) order
        refs = batches[0].to_refs(nid)
        if ndim and len(refs) and np.any(refs.coords.max(axis=0) >= np.asarray(num_chunks)):
            return take(refs, np.flatnonzero(np.all(refs.coords < np.asarray(
                num_chunks, dtype=np.uint64), axis=1)))
        return refs
    parts = [old] + [b.to_refs(nid) for b in batches]
    parts.append(refs_from_changes(nid, ndim, changes))
    dead = [c for c, r in changes.items() if r is None]
    tomb = len(dead)
    if tomb:  # tombstones: placeholder rows dropped after de-duplication
        parts.append(ArrayRefs(nid, np.array(dead, np.uint32).reshape(tomb, ndim),
                               np.zeros(tomb, np.uint8), np.zeros(tomb, np.uint64),
                               np.zeros(tomb, np.uint64), np.zeros((tomb, 12), np.uint8),
                               [b""] * tomb, [None] * tomb, [None] * tomb,
                               np.zeros(tomb, np.uint32)))
    allrefs = concat(nid, ndim, parts)
    n = len(allrefs)
    if n == 0:
        return allrefs
    inside = np.flatnonzero(np.all(allrefs.coords < np.asarray(num_chunks, dtype=np.uint64),
                                   axis=1)) if ndim else np.arange(n)
    keys = _linear_keys(allrefs.coords[inside], num_chunks)
    # the last occurrence of each key wins; np.unique sorts by key = coordinate order
    _, first_rev = np.unique(keys[::-1], return_index=True)
    rows = inside[len(inside) - 1 - first_rev]
    if tomb:
        rows = rows[rows < n - tomb]
    return take(allrefs, rows)
