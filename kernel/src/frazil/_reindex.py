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

import json
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from frazil import _chunkrefs as cr
from frazil.errors import ErrorKind, IcechunkError, InvalidInputError
from frazil.format.model import ArrayRefs, ChunkChange, NodeSnapshot

__all__ = ["check_regular_grid", "chunk_grid_name", "reindex_changes", "shift_changes"]

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


def shift_changes(node: NodeSnapshot, refs: ArrayRefs,
                  chunk_offset: Sequence[int]) -> dict[tuple[int, ...], ChunkChange]:
    """Entries shifting every chunk of ``refs`` by ``chunk_offset`` chunks.

    Chunks shifted outside the grid are dropped; every position that held a
    chunk and receives none is cleared (it reads as the fill value).
    """
    grid = _grid(node)
    offset = np.array([int(x) for x in chunk_offset], dtype=np.int64)
    if offset.shape != grid.shape:
        raise InvalidInputError(f"chunk_offset {list(chunk_offset)} has {len(offset)} "
                                f"dimension(s), the array at {node.path} has {len(grid)}",
                                ErrorKind.INVALID_CHUNK_INDEX)
    refs = _inside(refs, grid)
    if not len(refs) or not np.any(offset):
        return {}
    coords = refs.coords.astype(np.int64)
    moved = coords + offset
    valid = np.all((moved >= 0) & (moved < grid), axis=1)
    rows = np.flatnonzero(valid)
    dest = moved[rows]
    held = np.isin(cr.row_keys(coords.astype(np.uint32)),
                   cr.row_keys(dest.astype(np.uint32)), invert=True)
    return _entries(refs, rows, dest, coords[held])


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
