"""Walking snapshots and manifests: what a set of snapshots keeps alive.

Shared by garbage collection, storage statistics and ``check``. Manifest
fetches run concurrently (bounded); chunk ids are collected as unique rows of
the manifests' id columns, so a manifest with a million refs costs one numpy
``unique``, not a million Python objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from frazil._assets import AssetManager
from frazil.format.ids import ObjectId, b32encode
from frazil.format.model import KIND_NATIVE, Manifest, Snapshot

__all__ = ["bounded_gather", "fetch_snapshots", "native_chunk_ids", "pointed_ids",
           "retained_objects"]

_T = TypeVar("_T")
_U = TypeVar("_U")


async def bounded_gather(items: Iterable[_T], fn: Callable[[_T], Awaitable[_U]],
                         limit: int) -> list[_U]:
    """``fn`` over ``items`` with at most ``limit`` running at once, in order."""
    sem = asyncio.Semaphore(max(1, limit))

    async def one(x: _T) -> _U:
        async with sem:
            return await fn(x)

    return list(await asyncio.gather(*(one(x) for x in items)))


def pointed_ids(info: Any) -> set[ObjectId]:
    """Every snapshot reachable from a branch or a tag in repo info ``info``."""
    from_refs = list(info.tags.values()) + list(info.branches.values())
    seen: set[ObjectId] = set()
    for tip in from_refs:
        sid = tip
        while sid is not None and sid not in seen:
            rec = info.snapshots.get(sid)
            if rec is None:
                break
            seen.add(sid)
            sid = rec.parent_id
    return seen


def native_chunk_ids(man: Manifest) -> set[str]:
    """The names (base32 ids) of the chunk objects ``man`` references."""
    out: set[str] = set()
    for refs in man.arrays:
        mask = refs.kinds == KIND_NATIVE
        if not mask.any():
            continue
        rows = np.unique(np.ascontiguousarray(refs.chunk_ids[mask]), axis=0)
        out.update(b32encode(r.tobytes()) for r in rows)
    return out


async def fetch_snapshots(assets: AssetManager, ids: Iterable[ObjectId],
                          limit: int) -> list[Snapshot]:
    return await bounded_gather(list(ids), assets.fetch_snapshot, limit)


async def retained_objects(assets: AssetManager, snaps: Iterable[ObjectId], limit: int,
                           progress: Callable[[str, int, int | None], None] | None = None
                           ) -> tuple[set[str], set[str]]:
    """The manifest names and chunk names the snapshots ``snaps`` reference."""
    snapshots = await fetch_snapshots(assets, snaps, min(limit, 64))
    mids: dict[ObjectId, None] = {}
    for snap in snapshots:
        for f in snap.manifest_files:
            mids.setdefault(f.id, None)
    chunks: set[str] = set()
    done = 0
    total = len(mids)

    async def visit(mid: ObjectId) -> None:
        nonlocal done
        man = await assets.fetch_manifest(mid)
        chunks.update(native_chunk_ids(man))
        done += 1
        if progress is not None:
            progress("walk manifests", done, total)

    await bounded_gather(list(mids), visit, limit)
    return {str(m) for m in mids}, chunks
