"""In-memory values of the four metadata files (codec-independent).

These are what the codecs in :mod:`frazil.format.codec` decode to and encode
from. Large collections (chunk refs, tx-log chunk coordinates) are columnar
numpy arrays so a manifest with a million refs is a handful of arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frazil.format.ids import NodeId, ObjectId

# ---------------------------------------------------------------- chunk refs


@dataclass(frozen=True, slots=True)
class InlineChunkRef:
    """A chunk stored inside the manifest itself."""

    data: bytes


@dataclass(frozen=True, slots=True)
class NativeChunkRef:
    """``length`` bytes at ``offset`` of the chunk object ``chunks/<chunk_id>``."""

    chunk_id: ObjectId
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class VirtualChunkRef:
    """``length`` bytes at ``offset`` of an object outside the repository.

    ``etag`` and ``last_modified`` (seconds since the epoch, 0 for none) are
    the checksums verified before reading.
    """

    location: str
    offset: int
    length: int
    etag: str | None = None
    last_modified: int = 0


ChunkRef = InlineChunkRef | NativeChunkRef | VirtualChunkRef
#: a change-set entry: the new ref of a chunk, or ``None`` for a deleted chunk
ChunkChange = ChunkRef | None

# ---------------------------------------------------------------- repo info


@dataclass(slots=True)
class SnapshotRecord:
    """One ``SnapshotInfo`` of the repo info file."""

    id: ObjectId
    parent_id: ObjectId | None
    flushed_at: int  # microseconds since the epoch, UTC
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)
    pruned_ancestor_tx_logs: list[ObjectId] | None = None


@dataclass(slots=True)
class RepoStatusRecord:
    availability: int = 0  # 0 online, 1 read-only, 2 offline
    set_at: int = 0
    limited_availability_reason: str | None = None


@dataclass(slots=True)
class UpdateRecord:
    """One ops-log entry.

    ``kind`` is the union member name without the ``Update`` suffix, e.g.
    ``"NewCommit"``, ``"BranchCreated"``, ``"RepoInitialized"``; ``fields``
    holds that member's fields by their schema names (ids as ``ObjectId``).
    """

    kind: str
    fields: dict[str, Any]
    updated_at: int
    backup_path: str | None = None


@dataclass(slots=True)
class RepoInfo:
    spec_version: int
    branches: dict[str, ObjectId]
    tags: dict[str, ObjectId]
    deleted_tags: set[str]
    snapshots: dict[ObjectId, SnapshotRecord]
    status: RepoStatusRecord
    metadata: dict[str, Any]
    latest_updates: list[UpdateRecord]  # newest first
    repo_before_updates: str | None = None
    config: dict[str, Any] | None = None
    enabled_feature_flags: list[int] = field(default_factory=list)
    disabled_feature_flags: list[int] = field(default_factory=list)
    extra: bytes | None = None


# ----------------------------------------------------------------- snapshot


@dataclass(frozen=True, slots=True)
class ManifestRef:
    object_id: ObjectId
    extents: tuple[tuple[int, int], ...]  # per dimension: [from, to)


@dataclass(slots=True)
class ArrayData:
    shape: tuple[tuple[int, int], ...]  # per dimension: (array_length, num_chunks)
    dimension_names: tuple[str | None, ...] | None
    manifests: list[ManifestRef]


@dataclass(slots=True)
class NodeSnapshot:
    id: NodeId
    path: str
    user_data: bytes  # the node's zarr.json
    array: ArrayData | None  # None for a group
    extra: bytes | None = None

    @property
    def is_array(self) -> bool:
        return self.array is not None


@dataclass(frozen=True, slots=True)
class ManifestFileInfo:
    id: ObjectId
    size_bytes: int
    num_chunk_refs: int


@dataclass(slots=True)
class Snapshot:
    id: ObjectId
    nodes: list[NodeSnapshot]  # sorted by the UTF-8 bytes of path
    flushed_at: int
    message: str
    metadata: dict[str, Any]
    manifest_files: list[ManifestFileInfo]  # sorted by id
    parent_id: ObjectId | None = None  # always None in spec-2 snapshots
    extra: bytes | None = None


# ----------------------------------------------------------------- manifest

KIND_INLINE = 0
KIND_NATIVE = 1
KIND_VIRTUAL = 2


@dataclass(slots=True)
class ArrayRefs:
    """All chunk refs of one array in one manifest, columnar, sorted by coords.

    ``coords`` is ``(n, ndim)`` uint32; ``kinds`` one of the ``KIND_*``;
    ``chunk_ids`` ``(n, 12)`` uint8 (zero rows where not native);
    ``inline`` and ``locations``/``etags`` hold ``None`` where not applicable.
    """

    node_id: NodeId
    coords: np.ndarray
    kinds: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    chunk_ids: np.ndarray
    inline: list[bytes | None]
    locations: list[str | None]
    etags: list[str | None]
    last_modified: np.ndarray  # uint32, 0 = none

    def __len__(self) -> int:
        return int(self.coords.shape[0])


@dataclass(slots=True)
class Manifest:
    id: ObjectId
    arrays: list[ArrayRefs]  # sorted by node id bytes


# ---------------------------------------------------------- transaction log


@dataclass(frozen=True, slots=True)
class MoveOperation:
    from_path: str
    to_path: str
    node_id: NodeId
    is_array: bool


@dataclass(slots=True)
class TransactionLog:
    id: ObjectId
    new_groups: list[NodeId] = field(default_factory=list)
    new_arrays: list[NodeId] = field(default_factory=list)
    deleted_groups: list[NodeId] = field(default_factory=list)
    deleted_arrays: list[NodeId] = field(default_factory=list)
    updated_arrays: list[NodeId] = field(default_factory=list)
    updated_groups: list[NodeId] = field(default_factory=list)
    # node id -> (n, ndim) uint32 coordinates, rows sorted lexicographically
    updated_chunks: dict[NodeId, np.ndarray] = field(default_factory=dict)
    moved_nodes: list[MoveOperation] = field(default_factory=list)
    extra: bytes | None = None
