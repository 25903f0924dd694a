"""Shift and reindex the chunks of an array by moving chunk refs, never chunk bytes.

The chunks an array has are one columnar :class:`~frazil.format.model.ArrayRefs`;
a shift is index arithmetic over its ``coords`` column, a reindex calls the
user's functions once per existing chunk. Both produce the change-set entries
to apply at once (new refs at their destinations, ``None`` where a position is
cleared), so a failure part-way leaves the session untouched, as icechunk.

Only arrays whose zarr metadata declares a ``regular`` chunk grid can be
reindexed: on other grids (rectilinear) chunk sizes depend on the position,
so relabelling them would corrupt the array (icechunk refuses the same way).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from frazil import _chunkrefs as cr
from frazil.errors import ErrorKind, IcechunkError, InvalidInputError
from frazil.format.ids import NodeId
from frazil.format.model import ArrayRefs, ChunkChange, NodeSnapshot

__all__ = ["RefBatch", "check_regular_grid", "chunk_grid_name", "reindex_changes", "shift_refs"]

IndexFn = Callable[[list[int]], Iterable[int] | None]


def chunk_grid_name(user_data: bytes) -> str | None:
    """The ``chunk_grid.name`` of a zarr.json, or ``None`` when it cannot be read."""
    try:
        meta = json.loads(user_data)
        name = meta["chunk_grid"]["name"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def check_regular_grid(node: NodeSnapshot) -> None:
    """Refuse to reindex an array unless its metadata declares a regular chunk grid."""
    grid = chunk_grid_name(node.user_data)
    if grid != "regular":
        raise IcechunkError(
            f"cannot shift or reindex chunks of the array at `{node.path}`: shift_array and "
            f"reindex_array need a `regular` chunk grid, found `{grid or 'unknown'}`; on other "
            "grids chunk sizes depend on their position, so moving chunks would corrupt the "
            "array", ErrorKind.UNKNOWN)


def check_grid_for_spec_1(meta: dict[str, Any], path: str) -> None:
    """Spec-1 repositories hold regular chunk grids only (icechunk refuses the others)."""
    grid = meta.get("chunk_grid")
    if not isinstance(grid, dict) or grid.get("name") != "regular":
        raise InvalidInputError(f"invalid array metadata for {path}: non-regular chunk grids "
                                "are not supported in icechunk format version 1; use "
                                "spec_version=2 or higher", ErrorKind.BAD_METADATA)


def _grid(node: NodeSnapshot) -> np.ndarray:
    assert node.array is not None
    return np.array([n for _, n in node.array.shape], dtype=np.int64)


def _inside(refs: ArrayRefs, grid: np.ndarray) -> ArrayRefs:
    if not len(refs) or not len(grid):
        return refs
    keep = np.all(refs.coords.astype(np.int64) < grid, axis=1)
    return refs if keep.all() else cr.take(refs, np.flatnonzero(keep))


def _entries(refs: ArrayRefs, rows: np.ndarray, dest: np.ndarray,
             cleared: np.ndarray) -> dict[tuple[int, ...], ChunkChange]:
    """Change-set entries: ``None`` at ``cleared``, then row ``rows[i]``'s ref at ``dest[i]``."""
    out: dict[tuple[int, ...], ChunkChange] = dict.fromkeys(map(tuple, cleared.tolist()))
    out.update(zip(map(tuple, dest.tolist()), (cr.ref_at(refs, r) for r in rows.tolist()),
                   strict=True))
    return out


def shift_refs(node: NodeSnapshot, refs: ArrayRefs,
               chunk_offset: Sequence[int]) -> tuple[ArrayRefs, np.ndarray] | None:
    """Every chunk of ``refs`` shifted by ``chunk_offset`` chunks, and the positions to clear.

    Returns the shifted refs (sorted by coordinates) and the ``(n, ndim)``
    coordinates that held a chunk and receive none, or ``None`` when nothing
    moves. Chunks shifted outside the grid are dropped; cleared positions read
    as the fill value. All index arithmetic is on whole columns.
    """
    grid = _grid(node)
    offset = np.array([int(x) for x in chunk_offset], dtype=np.int64)
    if offset.shape != grid.shape:
        raise InvalidInputError(f"chunk_offset {list(chunk_offset)} has {len(offset)} "
                                f"dimension(s), the array at {node.path} has {len(grid)}",
                                ErrorKind.INVALID_CHUNK_INDEX)
    refs = _inside(refs, grid)
    if not len(refs) or not np.any(offset):
        return None
    coords = refs.coords.astype(np.int64)
    moved = coords + offset
    rows = np.flatnonzero(np.all((moved >= 0) & (moved < grid), axis=1))
    dest = moved[rows]
    order = np.lexsort(dest.T[::-1])  # manifests may come in several sorted runs
    rows, dest = rows[order], dest[order].astype(np.uint32)
    held = np.isin(cr.row_keys(refs.coords), cr.row_keys(dest), invert=True)
    shifted = dataclasses.replace(cr.take(refs, rows), coords=dest)
    return shifted, refs.coords[held]


class RefBatch:
    """Chunk refs set at once by a shift, kept columnar until commit.

    It stands in the change set beside :class:`~frazil._chunkrefs.VirtualBatch`
    (same duck type: ``find``, ``coords``, ``rows``, ``to_refs``,
    ``drop_from``) and holds any kind of ref. Rows are unique and sorted by
    coordinates; the coordinate index is built on first lookup.
    """

    __slots__ = ("_index", "refs")

    def __init__(self, refs: ArrayRefs) -> None:
        self.refs = refs
        self._index: cr.RefIndex | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"refs": self.refs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.refs, self._index = state["refs"], None

    def row(self, coords: tuple[int, ...]) -> int | None:
        if len(coords) != self.refs.coords.shape[1]:
            return None
        if self._index is None:
            self._index = cr.RefIndex(self.refs)
        return self._index._index.get(np.array(coords, dtype=">u4").tobytes())

    def find(self, coords: tuple[int, ...]) -> ChunkChange:
        row = self.row(coords)
        return None if row is None else cr.ref_at(self.refs, row)

    def rows(self) -> np.ndarray:
        return np.arange(len(self.refs))

    def coords(self) -> np.ndarray:
        return self.refs.coords

    def to_refs(self, node_id: NodeId) -> ArrayRefs:
        return dataclasses.replace(self.refs, node_id=node_id)

    def items(self) -> Iterator[tuple[tuple[int, ...], ChunkChange]]:
        """Every (coordinates, ref) pair, one object per chunk (rebase works chunk by chunk)."""
        for i, c in enumerate(map(tuple, self.refs.coords.tolist())):
            yield c, cr.ref_at(self.refs, i)

    def drop_from(self, changes: dict[tuple[int, ...], ChunkChange]) -> None:
        """Remove the entries of ``changes`` this (later) batch overrides."""
        for c in [c for c in changes if self.row(c) is not None]:
            del changes[c]


def _index(fn: IndexFn, coords: list[int], node: NodeSnapshot,
           grid: np.ndarray) -> tuple[int, ...] | None:
    try:
        out = fn(list(coords))
        new = None if out is None else tuple(int(x) for x in out)
    except Exception as e:  # the user's function failed: icechunk reports it, typed
        raise IcechunkError(f"unknown error: {type(e).__name__}: {e}",
                            ErrorKind.UNKNOWN) from e
    if new is not None and len(new) != len(grid):
        raise InvalidInputError(f"invalid chunk index: coordinates {list(new)} are not valid "
                                f"for array at {node.path}", ErrorKind.INVALID_CHUNK_INDEX)
    return new


def reindex_changes(node: NodeSnapshot, refs: ArrayRefs, forward: IndexFn,
                    backward: IndexFn | None) -> dict[tuple[int, ...], ChunkChange]:
    """Entries moving each chunk of ``refs`` to ``forward(coords)`` (icechunk's semantics).

    ``forward`` returning ``None`` leaves a chunk in place; a destination
    outside the grid is an error. With ``backward``, a position that is no
    destination is cleared when ``backward`` gives ``None`` or a position
    without a chunk.
    """
    grid = _grid(node)
    refs = _inside(refs, grid)
    coords = refs.coords.tolist()
    present = set(map(tuple, coords))
    rows: list[int] = []
    dest: list[tuple[int, ...]] = []
    for row, c in enumerate(coords):
        new = _index(forward, c, node, grid)
        if new is None:
            continue
        if any(x < 0 or x >= n for x, n in zip(new, grid.tolist(), strict=True)):
            raise InvalidInputError(f"invalid chunk index: coordinates {list(new)} are not "
                                    f"valid for array at {node.path}",
                                    ErrorKind.INVALID_CHUNK_INDEX)
        rows.append(row)
        dest.append(new)
    cleared: list[tuple[int, ...]] = []
    if backward is not None:
        targets = set(dest)
        for c in coords:
            t = tuple(c)
            if t in targets:
                continue
            source = _index(backward, c, node, grid)
            if source is None or source not in present:
                cleared.append(t)
    ndim = len(grid)
    return _entries(refs, np.array(rows, dtype=np.int64),
                    np.array(dest, dtype=np.int64).reshape(len(dest), ndim),
                    np.array(cleared, dtype=np.int64).reshape(len(cleared), ndim))
