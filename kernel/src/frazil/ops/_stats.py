"""Chunk storage statistics (icechunk's ``chunk_storage_stats``).

Counts what the snapshots reachable from branches and tags reference: each
native chunk object once (by id), each virtual range once (by location,
offset and length), and the inline bytes of every distinct manifest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from frazil._assets import AssetManager
from frazil._repr import Fields, Mode, ReprMixin
from frazil._state import RepoState
from frazil.format.ids import ObjectId
from frazil.format.model import KIND_INLINE, KIND_NATIVE, KIND_VIRTUAL
from frazil.ops._walk import bounded_gather, fetch_snapshots, pointed_ids

__all__ = ["ChunkStorageStats", "chunk_storage_stats"]

log = logging.getLogger("frazil.ops")


@dataclass(frozen=True, slots=True, repr=False)
class ChunkStorageStats(ReprMixin):
    """Bytes of chunk data by kind (icechunk's ``ChunkStorageStats``)."""

    native_bytes: int = 0
    virtual_bytes: int = 0
    inlined_bytes: int = 0

    def non_virtual_bytes(self) -> int:
        """Native plus inline bytes: what the repository itself stores."""
        return self.native_bytes + self.inlined_bytes

    def total_bytes(self) -> int:
        """Native, virtual and inline bytes together."""
        return self.native_bytes + self.virtual_bytes + self.inlined_bytes

    def __add__(self, other: ChunkStorageStats) -> ChunkStorageStats:
        return ChunkStorageStats(self.native_bytes + other.native_bytes,
                                 self.virtual_bytes + other.virtual_bytes,
                                 self.inlined_bytes + other.inlined_bytes)

    _repr_name = "frazil.stats.ChunkStorageStats"

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("native_bytes", str(self.native_bytes)),
                ("virtual_bytes", str(self.virtual_bytes)),
                ("inlined_bytes", str(self.inlined_bytes))]


async def chunk_storage_stats(state: RepoState, assets: AssetManager,
                              max_concurrent_manifest_fetches: int = 500) -> ChunkStorageStats:
    """The chunk bytes referenced by every snapshot reachable from a ref."""
    info = await state.fetch()
    snaps = await fetch_snapshots(assets, pointed_ids(info), 64)
    mids: dict[ObjectId, None] = {}
    for s in snaps:
        for f in s.manifest_files:
            mids.setdefault(f.id, None)
    native: dict[bytes, int] = {}
    virtual: dict[tuple[str | None, int, int], int] = {}
    inline = 0

    async def visit(mid: ObjectId) -> None:
        nonlocal inline
        man = await assets.fetch_manifest(mid)
        for refs in man.arrays:
            nat = np.flatnonzero(refs.kinds == KIND_NATIVE)
            if nat.size:
                ids = refs.chunk_ids[nat]
                for row, length in zip(ids, refs.lengths[nat].tolist(), strict=True):
                    native.setdefault(row.tobytes(), int(length))
            for i in np.flatnonzero(refs.kinds == KIND_VIRTUAL).tolist():
                key = (refs.locations[i], int(refs.offsets[i]), int(refs.lengths[i]))
                virtual.setdefault(key, key[2])
            for i in np.flatnonzero(refs.kinds == KIND_INLINE).tolist():
                inline += len(refs.inline[i] or b"")

    await bounded_gather(list(mids), visit, max_concurrent_manifest_fetches)
    log.info("chunk_storage_stats: %d snapshots, %d manifests", len(snaps), len(mids))
    return ChunkStorageStats(sum(native.values()), sum(virtual.values()), inline)
