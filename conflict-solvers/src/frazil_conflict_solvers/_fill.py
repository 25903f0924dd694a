"""Element-wise merge of chunks both sides wrote, for writers filling disjoint parts."""

from __future__ import annotations

from typing import Any

import numpy as np
from frazil.conflicts import Conflict, ConflictType, RebaseStep

from frazil_conflict_solvers._fallback import FallbackSolver

CT = ConflictType


async def _open(session: Any, path: str) -> Any:
    from zarr.core.array import AsyncArray
    from zarr.storage import StorePath

    return await AsyncArray.open(StorePath(session.store, path.strip("/")))


def _eq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    eq = np.asarray(a == b)
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        eq = eq | (np.isnan(a) & np.isnan(b))
    return eq


class FillValueChunkSolver(FallbackSolver):
    """Resolve ``ChunkDoubleUpdate`` by merging the two versions element by element.

    For every element of a chunk written on both sides the merged chunk takes:
    the common value if both sides agree; otherwise the side that changed it,
    where a side "did not change" an element if it still holds the common
    ancestor's value or the array's fill value. An element both sides set to
    different non-fill values is a real conflict: those chunks go on to
    ``fallback`` (default :class:`~frazil.ConflictDetector`, i.e. fail; pass
    ``BasicConflictSolver(on_chunk_conflict=...)`` to pick a side instead).
    Other conflict kinds go to ``fallback`` too.

    This reads and re-encodes the chunks through zarr, so it costs three chunk
    reads and one write per conflicting chunk.
    """

    async def narrow(self, step: RebaseStep, c: Conflict) -> Conflict | None:
        if c.conflict_type is not CT.ChunkDoubleUpdate:
            return c
        left = await self._merge(step, c.path, c.conflicted_chunks or [])
        return Conflict(CT.ChunkDoubleUpdate, c.path, left) if left else None

    async def _merge(self, step: RebaseStep, path: str, chunks: list[list[int]]
                     ) -> list[list[int]]:
        ours_arr = await _open(step.session, path)
        theirs_arr = await _open(step.theirs_session, path)
        base_arr = None
        if step.base_node(path) is not None:
            base_arr = await _open(step.base_session, path)
        if ours_arr.metadata.shape != theirs_arr.metadata.shape or \
                ours_arr.chunks != theirs_arr.chunks:
            return chunks
        fill = np.asarray(ours_arr.metadata.fill_value, dtype=ours_arr.dtype)
        shape, cshape = ours_arr.metadata.shape, ours_arr.chunks
        unresolved = []
        for coords in chunks:
            sel = tuple(slice(c * n, min((c + 1) * n, s))
                        for c, n, s in zip(coords, cshape, shape, strict=True))
            o = np.asarray(await ours_arr.getitem(sel))
            t = np.asarray(await theirs_arr.getitem(sel))
            b = (np.asarray(await base_arr.getitem(sel)) if base_arr is not None
                 else np.full_like(o, fill))
            take_ours = _eq(o, t) | _eq(t, b) | _eq(t, fill)
            take_theirs = ~take_ours & (_eq(o, b) | _eq(o, fill))
            if not (take_ours | take_theirs).all():
                unresolved.append(list(coords))
                continue
            await ours_arr.setitem(sel, np.where(take_ours, o, t))
        return unresolved

