"""``Session``: a view of one snapshot plus, when writable, a change set.

Commit = write manifests + transaction log + snapshot (all invisible), then
one conditional update of the repo info file. Chunks larger than the inline
threshold were already written to ``chunks/`` when they were set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from frazil import _chunkrefs as cr
from frazil._errors import (
    ConflictError,
    ErrorKind,
    FormatError,
    InvalidInputError,
    NodeNotFoundError,
    ReadOnlyError,
    SessionStateError,
)
from frazil._refs import is_descendant, normalize_node_path
from frazil._split import split_array_refs
from frazil._sync import sync
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import (
    ArrayData,
    ArrayRefs,
    Manifest,
    ManifestFileInfo,
    ManifestRef,
    NodeSnapshot,
    RepoInfo,
    Snapshot,
    SnapshotRecord,
    TransactionLog,
    UpdateRecord,
)
from frazil.snapshots import Diff

if TYPE_CHECKING:
    from frazil.repository import Repository
    from frazil.store import IcechunkStore

__all__ = ["Session"]


def array_shape_from_metadata(meta: dict[str, Any], path: str) -> ArrayData:
    """Shape (array length, number of chunks) per dimension from zarr.json."""
    try:
        shape = [int(x) for x in meta["shape"]]
        grid = meta["chunk_grid"]
        chunk_shape = [int(x) for x in grid["configuration"]["chunk_shape"]]
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"invalid array metadata for {path}: needs shape and a regular "
                                "chunk_grid", ErrorKind.INVALID_ARRAY_METADATA) from None
    if len(shape) != len(chunk_shape) or any(c <= 0 for c in chunk_shape) or \
            any(s < 0 for s in shape):
        raise InvalidInputError(f"invalid array metadata for {path}: shape {shape} and chunk "
                                f"shape {chunk_shape} disagree", ErrorKind.INVALID_ARRAY_METADATA)
    dims = meta.get("dimension_names")
    names = tuple(dims) if isinstance(dims, list) else None
    return ArrayData(tuple((s, -(-s // c)) for s, c in zip(shape, chunk_shape, strict=True)),
                     names, [])


@dataclass
class ChangeSet:
    """The only mutable state of a writable session."""

    new: dict[str, NodeSnapshot] = field(default_factory=dict)
    updated: dict[str, NodeSnapshot] = field(default_factory=dict)
    deleted: dict[str, NodeSnapshot] = field(default_factory=dict)  # base nodes, by path
    chunks: dict[NodeId, dict[tuple[int, ...], cr.ChunkChange]] = field(default_factory=dict)
    # columnar virtual refs from set_virtual_refs_arr, oldest first. Order of
    # precedence: an entry of ``chunks`` overrides every batch (a batch drops
    # the ``chunks`` entries it covers when it is added); a later batch
    # overrides an earlier one.
    vbatches: dict[NodeId, list[cr.VirtualBatch]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.new or self.updated or self.deleted or self.chunks or self.vbatches)


class Session:
    """A session on a repository (icechunk's ``Session``)."""

    def __init__(self, repo: Repository, snapshot: Snapshot, *, branch: str | None,
                 read_only: bool) -> None:
        self._repo = repo
        self._assets = repo._assets
        self._snapshot = snapshot
        self._branch = branch
        self._read_only = read_only
        self._base_nodes = {n.path: n for n in snapshot.nodes}
        self._changes = ChangeSet()
        self._ref_indexes: dict[tuple[ObjectId, NodeId], cr.RefIndex] = {}
        self._store: IcechunkStore | None = None

    # ============================================================ identity
    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def snapshot_id(self) -> str:
        return str(self._snapshot.id)

    @property
    def branch(self) -> str | None:
        return self._branch

    @property
    def mode(self) -> str:
        return "readonly" if self._read_only else "writable"

    @property
    def config(self) -> Any:
        return self._repo.config

    @property
    def store(self) -> IcechunkStore:
        from frazil.store import IcechunkStore

        if self._store is None:
            self._store = IcechunkStore(self, read_only=self._read_only)
        return self._store

    @property
    def has_uncommitted_changes(self) -> bool:
        return not self._changes.is_empty()

    def discard_changes(self) -> None:
        """Drop every uncommitted change (chunks already written become garbage)."""
        self._check_writable()
        self._changes = ChangeSet()

    def __repr__(self) -> str:
        return (f"<frazil.Session {self.mode} snapshot={self.snapshot_id} "
                f"branch={self._branch!r}>")

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyError("this session is read-only", ErrorKind.READ_ONLY_SESSION)

    # =============================================================== nodes
    def get_node(self, path: str) -> NodeSnapshot | None:
        """The node at canonical ``path`` as this session sees it, or ``None``."""
        ch = self._changes
        node = ch.new.get(path)
        if node is not None:
            return node
        if path in ch.deleted:
            return None
        return ch.updated.get(path) or self._base_nodes.get(path)

    def list_nodes(self) -> list[NodeSnapshot]:
        ch = self._changes
        out = {p: n for p, n in self._base_nodes.items() if p not in ch.deleted}
        out.update(ch.updated)
        out.update(ch.new)
        return [out[p] for p in sorted(out, key=lambda p: p.encode())]

    async def get_node_id_async(self, path: str) -> str:
        node = self.get_node(normalize_node_path(path))
        if node is None:
            raise NodeNotFoundError(f"node not found: {path}")
        return str(node.id)

    def get_node_id(self, path: str) -> str:
        """The node id (base32) of the group or array at ``path``."""
        return sync(self.get_node_id_async(path))

    def set_node_metadata(self, path: str, user_data: bytes) -> None:
        """Create or update the group/array at ``path`` from its zarr.json bytes."""
        self._check_writable()
        try:
            meta = json.loads(user_data)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError(f"zarr.json of {path} is not valid JSON",
                                    ErrorKind.BAD_METADATA) from None
        if not isinstance(meta, dict) or meta.get("zarr_format") != 3:
            raise InvalidInputError(f"zarr.json of {path} is not Zarr v3 metadata",
                                    ErrorKind.BAD_METADATA)
        node_type = meta.get("node_type")
        if node_type not in ("array", "group"):
            raise InvalidInputError(f"zarr.json of {path} has node_type {node_type!r}",
                                    ErrorKind.BAD_METADATA)
        array = array_shape_from_metadata(meta, path) if node_type == "array" else None
        existing = self.get_node(path)
        if existing is not None and existing.is_array != (array is not None):
            self.delete_node(path)
            existing = None
        ch = self._changes
        if existing is None:
            ch.new[path] = NodeSnapshot(NodeId.random(), path, bytes(user_data), array)
            return
        if array is not None:
            array.manifests = existing.array.manifests if existing.array else []
        node = NodeSnapshot(existing.id, path, bytes(user_data), array, existing.extra)
        if path in ch.new:
            ch.new[path] = node
        else:
            ch.updated[path] = node

    def delete_node(self, path: str) -> None:
        """Delete the node at ``path`` and everything under it."""
        self._check_writable()
        ch = self._changes
        for node in self.list_nodes():
            if node.path == path or is_descendant(node.path, path):
                if node.path in ch.new:
                    del ch.new[node.path]
                    ch.chunks.pop(node.id, None)
                    ch.vbatches.pop(node.id, None)
                base = self._base_nodes.get(node.path)
                if base is not None and base.id == node.id:
                    ch.updated.pop(node.path, None)
                    ch.deleted[node.path] = base
                    ch.chunks.pop(node.id, None)
                    ch.vbatches.pop(node.id, None)

    # ============================================================== chunks
    def _array(self, path: str) -> NodeSnapshot:
        node = self.get_node(path)
        if node is None:
            raise NodeNotFoundError(f"array not found: {path}")
        if node.array is None:
            raise InvalidInputError(f"{path} is a group, not an array", ErrorKind.NOT_AN_ARRAY)
        return node

    def _check_coords(self, node: NodeSnapshot, coords: tuple[int, ...]) -> None:
        assert node.array is not None
        shape = node.array.shape
        if len(coords) != len(shape) or any(
                c < 0 or c >= max(n, 1) for c, (_, n) in zip(coords, shape, strict=False)):
            raise InvalidInputError(f"chunk index {list(coords)} is outside the chunk grid of "
                                    f"{node.path}", ErrorKind.INVALID_CHUNK_INDEX)

    async def get_chunk_ref(self, path: str, coords: tuple[int, ...]) -> cr.ChunkChange:
        node = self._array(path)
        changes = self._changes.chunks.get(node.id)
        if changes is not None and coords in changes:
            return changes[coords]
        for batch in reversed(self._changes.vbatches.get(node.id, ())):
            ref = batch.find(coords)
            if ref is not None:
                return ref
        assert node.array is not None
        for mref in node.array.manifests:
            if cr.covers(mref, coords):
                index = await self._ref_index(mref.object_id, node.id)
                if index is not None:
                    ref = index.find(coords)
                    if ref is not None:
                        return ref
        return None

    async def _ref_index(self, mid: ObjectId, nid: NodeId) -> cr.RefIndex | None:
        key = (mid, nid)
        index = self._ref_indexes.get(key)
        if index is None:
            manifest = await self._assets.fetch_manifest(mid)
            refs = next((a for a in manifest.arrays if a.node_id == nid), None)
            if refs is None:
                return None
            index = self._ref_indexes[key] = cr.RefIndex(refs)
        return index

    async def get_chunk(self, path: str, coords: tuple[int, ...],
                        byte_range: tuple[int, int | None] | None = None) -> bytes | None:
        """Chunk bytes (``byte_range`` relative to the chunk), or ``None`` if absent."""
        ref = await self.get_chunk_ref(path, coords)
        if ref is None:
            return None
        if ref[0] == "i":
            data = ref[1]
            if byte_range is None:
                return data
            start, end = byte_range
            return data[start:end]
        if ref[0] == "n":
            _, cid, offset, length = ref
            start, end = (0, length) if byte_range is None else byte_range
            end = length if end is None else min(end, length)
            start = min(start, end)
            if start == end:
                return b""
            if offset == 0 and start == 0 and end == length:
                # the whole chunk object (the common case): a plain GET, no Range
                data = await self._assets.fetch_chunk(cid, None)
                if len(data) < length:
                    raise FormatError(f"chunk {cid} is truncated: {len(data)} of {length} bytes",
                                      ErrorKind.CHUNK_NOT_FOUND)
                return data if len(data) == length else data[:length]
            return await self._assets.fetch_chunk(cid, (offset + start, offset + end))
        from frazil._virtual import fetch_virtual

        return await fetch_virtual(self._repo, ref, byte_range)

    async def set_chunk(self, path: str, coords: tuple[int, ...], data: bytes) -> None:
        """Record chunk bytes: inline if small, otherwise written to ``chunks/`` now."""
        self._check_writable()
        node = self._array(path)
        self._check_coords(node, coords)
        if len(data) <= self._repo.config._inline_threshold:
            ref: cr.ChunkChange = ("i", bytes(data))
        else:
            cid = ObjectId.random()
            await self._assets.write_chunk(cid, bytes(data))
            ref = ("n", cid, 0, len(data))
        self._changes.chunks.setdefault(node.id, {})[coords] = ref

    def set_chunk_ref(self, path: str, coords: tuple[int, ...], ref: cr.ChunkChange) -> None:
        self._check_writable()
        node = self._array(path)
        self._check_coords(node, coords)
        self._changes.chunks.setdefault(node.id, {})[coords] = ref

    def delete_chunk(self, path: str, coords: tuple[int, ...]) -> None:
        self._check_writable()
        node = self._array(path)
        self._changes.chunks.setdefault(node.id, {})[coords] = None

    async def chunk_coords(self, path: str) -> list[tuple[int, ...]]:
        """Coordinates of every chunk the array at ``path`` has in this session."""
        node = self._array(path)
        assert node.array is not None
        found: set[tuple[int, ...]] = set()
        for mref in node.array.manifests:
            index = await self._ref_index(mref.object_id, node.id)
            if index is not None:
                found.update(map(tuple, index.refs.coords.tolist()))
        for batch in self._changes.vbatches.get(node.id, ()):
            found.update(map(tuple, batch.coords().tolist()))
        for c, ref in self._changes.chunks.get(node.id, {}).items():
            if ref is None:
                found.discard(c)
            else:
                found.add(c)
        grid = [n for _, n in node.array.shape]
        return sorted(c for c in found if all(x < n for x, n in zip(c, grid, strict=False)))

    async def chunk_coordinates_async(self, array_path: str) -> list[tuple[int, ...]]:
        return await self.chunk_coords(normalize_node_path(array_path))

    def chunk_coordinates(self, array_path: str) -> Iterator[tuple[int, ...]]:
        return iter(sync(self.chunk_coordinates_async(array_path)))

    async def chunk_type_async(self, array_path: str, chunk_coordinates: Any) -> Any:
        from frazil.virtual import ChunkType

        ref = await self.get_chunk_ref(normalize_node_path(array_path),
                                       tuple(int(c) for c in chunk_coordinates))
        if ref is None:
            return ChunkType.uninitialized
        return {"i": ChunkType.inline, "n": ChunkType.native, "v": ChunkType.virtual}[ref[0]]

    def chunk_type(self, array_path: str, chunk_coordinates: Any) -> Any:
        """The ``frazil.ChunkType`` of one chunk as this session sees it."""
        return sync(self.chunk_type_async(array_path, chunk_coordinates))

    async def all_virtual_chunk_locations_async(self) -> list[str]:
        found: list[str] = []  # one entry per virtual ref, as icechunk (not de-duplicated)
        for node in self.list_nodes():
            if node.array is None:
                continue
            refs = await self._old_refs(node)
            grid = tuple(n for _, n in node.array.shape)
            batches = self._changes.vbatches.get(node.id)
            changes = self._changes.chunks.get(node.id) or {}
            if batches:
                refs = cr.merge_with_batches(refs, batches, changes, grid)
            elif changes:
                refs = cr.merge(refs, changes, grid)
            vir = np.flatnonzero(refs.kinds == cr.KIND_VIRTUAL)
            # virtual refs always have a location; the columnar type cannot say so
            found.extend(refs.locations[i] for i in vir.tolist())  # type: ignore[misc]
        return found

    def all_virtual_chunk_locations(self) -> list[str]:
        """The location of every virtual chunk ref of this session (with repeats)."""
        return sync(self.all_virtual_chunk_locations_async())

    # ============================================================== status
    def status(self) -> Diff:
        """What this session changed, by path."""
        ch = self._changes
        diff = Diff()
        for p, n in ch.new.items():
            (diff.new_arrays if n.is_array else diff.new_groups).add(p)
        for p, n in ch.updated.items():
            (diff.updated_arrays if n.is_array else diff.updated_groups).add(p)
        for p, n in ch.deleted.items():
            (diff.deleted_arrays if n.is_array else diff.deleted_groups).add(p)
        paths = {n.id: n.path for n in self.list_nodes()}
        for nid in set(ch.chunks) | set(ch.vbatches):
            coords = self._changed_coords(nid)
            if nid in paths and coords is not None:
                diff.updated_chunks[paths[nid]] = coords.tolist()
        return diff

    def _changed_coords(self, nid: NodeId) -> np.ndarray | None:
        """Sorted unique coordinates changed for node ``nid`` (``None`` if none)."""
        ch = self._changes
        parts = [b.coords() for b in ch.vbatches.get(nid, ())]
        changes = ch.chunks.get(nid) or {}
        if changes:
            ndim = len(next(iter(changes)))
            parts.append(np.array(list(changes), np.uint32).reshape(len(changes), ndim))
        parts = [p for p in parts if len(p)]
        if not parts:
            return None
        coords = np.concatenate(parts)
        if coords.shape[1] == 0:
            return coords[:1]
        return np.unique(coords, axis=0)  # lexicographic rows

    def set_virtual_batch(self, path: str, batch: cr.VirtualBatch) -> None:
        """Record columnar virtual refs (they override earlier refs at their coords)."""
        self._check_writable()
        node = self._array(path)
        changes = self._changes.chunks.get(node.id)
        if changes:
            batch.drop_from(changes)
        self._changes.vbatches.setdefault(node.id, []).append(batch)

    def _materialize_batches(self) -> None:
        """Fold columnar virtual batches into the per-chunk change set (for rebase)."""
        ch = self._changes
        for nid, batches in ch.vbatches.items():
            changes = ch.chunks.setdefault(nid, {})
            merged: dict[tuple[int, ...], cr.ChunkChange] = {}
            for b in batches:
                for i, c in zip(b.rows().tolist(), map(tuple, b.coords().tolist()),
                                strict=True):
                    merged[c] = ("v", b.locations[i], int(b.offsets[i]), int(b.lengths[i]),
                                 b.etag, b.last_modified)
            merged.update(changes)
            ch.chunks[nid] = merged
        ch.vbatches = {}

    # ============================================================== commit
    def commit(self, message: str, metadata: dict[str, Any] | None = None, *,
               allow_empty: bool = False, rebase_with: Any = None, rebase_tries: int = 1_000,
               **_: Any) -> str:
        """Commit the change set to the session's branch; returns the new snapshot id.

        Raises ``ConflictError`` if the branch moved since the session started.
        Afterwards the session is read-only at the new snapshot.
        """
        return sync(self.commit_async(message, metadata, allow_empty=allow_empty,
                                      rebase_with=rebase_with, rebase_tries=rebase_tries))

    async def commit_async(self, message: str, metadata: dict[str, Any] | None = None, *,
                           allow_empty: bool = False, rebase_with: Any = None,
                           rebase_tries: int = 1_000, **_: Any) -> str:
        if self._read_only:
            raise SessionStateError("cannot commit a read-only session (sessions are read-only "
                                    "after they commit)", ErrorKind.COMMIT_NOT_ALLOWED)
        if not isinstance(message, str):
            raise InvalidInputError("commit message must be a string")
        if self._changes.is_empty() and not allow_empty:
            raise SessionStateError("cannot commit, no changes made to the session (use "
                                    "allow_empty=True)", ErrorKind.NO_CHANGES_TO_COMMIT)
        md = dict(self._repo.default_commit_metadata)
        md.update(metadata or {})
        solver = None
        if rebase_with is not None:
            from frazil.conflicts import resolve_solver

            solver = resolve_solver(rebase_with)
        attempt = 0
        while True:
            if solver is not None:  # icechunk records the attempt count
                md["__icechunk"] = {**md.get("__icechunk", {}), "rebase_attempts": attempt}
            try:
                snap = await self._commit_once(message, md)
                break
            except ConflictError as e:
                if solver is None or attempt >= rebase_tries or \
                        e.kind != ErrorKind.COMMIT_CONFLICT:
                    raise
            attempt += 1
            await self.rebase_async(solver)
        self._snapshot = snap
        self._base_nodes = {n.path: n for n in snap.nodes}
        self._changes = ChangeSet()
        self._ref_indexes.clear()
        self._read_only = True
        if self._store is not None:
            self._store._read_only = True
        return str(snap.id)

    async def _commit_once(self, message: str, md: dict[str, Any]) -> Snapshot:
        """Write one commit and move the branch; ``ConflictError`` if the branch moved."""
        snap, tx, manifests = await self._build_commit(message, md)
        await asyncio.gather(*(self._assets.write_manifest(m, d) for m, d in manifests))
        await asyncio.gather(self._assets.write_transaction_log(tx),
                             self._assets.write_snapshot(snap))
        base = self._snapshot.id
        branch = self._branch
        assert branch is not None

        def mutate(info: RepoInfo) -> UpdateRecord:
            tip = info.branches.get(branch)
            if tip != base:
                raise ConflictError(str(base), None if tip is None else str(tip))
            info.snapshots[snap.id] = SnapshotRecord(snap.id, base, snap.flushed_at, message, md)
            info.branches[branch] = snap.id
            return UpdateRecord("NewCommit", {"branch": branch, "new_snap_id": snap.id}, 0)

        await self._repo._update(mutate)
        return snap

    # ============================================================== rebase
    def rebase(self, solver: Any) -> None:
        """Move this session onto the tip of its branch, resolving conflicts with ``solver``.

        ``solver`` is a ``ConflictSolver`` (or a registered solver name such as
        ``"basic"``). Raises ``RebaseFailedError`` on unresolved conflicts.
        """
        sync(self.rebase_async(solver))

    async def rebase_async(self, solver: Any) -> None:
        from frazil.conflicts import rebase_session

        self._materialize_batches()
        await rebase_session(self, solver)

    async def _old_refs(self, node: NodeSnapshot) -> ArrayRefs:
        assert node.array is not None
        ndim = len(node.array.shape)
        parts = []
        for mref in node.array.manifests:
            index = await self._ref_index(mref.object_id, node.id)
            if index is not None:
                parts.append(index.refs)
        return cr.concat(node.id, ndim, parts)

    async def _build_commit(self, message: str, md: dict[str, Any]
                            ) -> tuple[Snapshot, TransactionLog, list[tuple[Manifest, bytes]]]:
        from frazil.repository import now_micros

        ch = self._changes
        sid = ObjectId.random()
        base_files = {f.id: f for f in self._snapshot.manifest_files}
        nodes = self.list_nodes()
        manifests: list[Manifest] = []
        files: dict[ObjectId, ManifestFileInfo] = {}
        out_nodes: list[NodeSnapshot] = []
        for node in nodes:
            if node.array is None:
                out_nodes.append(node)
                continue
            changes = ch.chunks.get(node.id)
            batches = ch.vbatches.get(node.id)
            base = self._base_nodes.get(node.path)
            resized = base is not None and base.id == node.id and base.array is not None \
                and base.array.shape != node.array.shape
            if not changes and not batches and not resized:
                out_nodes.append(node)
                for m in node.array.manifests:
                    if m.object_id in base_files:
                        files[m.object_id] = base_files[m.object_id]
                continue
            grid = tuple(n for _, n in node.array.shape)
            if batches:
                refs = cr.merge_with_batches(await self._old_refs(node), batches,
                                             changes or {}, grid)
            else:
                refs = cr.merge(await self._old_refs(node), changes or {}, grid)
            mrefs = []
            for part in split_array_refs(self._repo, node, refs):
                man = Manifest(ObjectId.random(), [part])
                manifests.append(man)
                mrefs.append(ManifestRef(man.id, cr.extents(part)))
                files[man.id] = ManifestFileInfo(man.id, 0, len(part))
            arr = ArrayData(node.array.shape, node.array.dimension_names, mrefs)
            out_nodes.append(NodeSnapshot(node.id, node.path, node.user_data, arr, node.extra))
        # manifest sizes are only known once encoded; encode here, write later
        from frazil.format import codec

        mcfg = self._repo.config._data.get("manifest")
        vcomp = mcfg.get("virtual_chunk_location_compression") if isinstance(mcfg, dict) else None
        encoded = [(man, codec.encode_manifest(man, vcomp)) for man in manifests]
        for man, data in encoded:
            files[man.id] = ManifestFileInfo(man.id, len(data), files[man.id].num_chunk_refs)
        snap = Snapshot(id=sid, nodes=out_nodes, flushed_at=now_micros(), message=message,
                        metadata=md, manifest_files=[files[k] for k in sorted(files)])
        return snap, self._transaction_log(sid), encoded

    def _transaction_log(self, sid: ObjectId) -> TransactionLog:
        ch = self._changes
        tx = TransactionLog(id=sid)
        for n in ch.new.values():
            (tx.new_arrays if n.is_array else tx.new_groups).append(n.id)
        for n in ch.updated.values():
            (tx.updated_arrays if n.is_array else tx.updated_groups).append(n.id)
        for n in ch.deleted.values():
            (tx.deleted_arrays if n.is_array else tx.deleted_groups).append(n.id)
        live = {n.id for n in self.list_nodes()}
        for nid in set(ch.chunks) | set(ch.vbatches):
            coords = self._changed_coords(nid) if nid in live else None
            if coords is not None:
                tx.updated_chunks[nid] = coords
        for lst in (tx.new_groups, tx.new_arrays, tx.deleted_groups, tx.deleted_arrays,
                    tx.updated_arrays, tx.updated_groups):
            lst.sort(key=lambda n: n.raw)
        tx.updated_chunks = dict(sorted(tx.updated_chunks.items(), key=lambda kv: kv[0].raw))
        return tx
