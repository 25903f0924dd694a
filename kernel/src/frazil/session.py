"""``Session``: a view of one snapshot plus, when writable, a change set.

Commit = write manifests + transaction log + snapshot (all invisible), then
one conditional update of the repo info file. Chunks larger than the inline
threshold were already written to ``chunks/`` when they were set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np

from frazil import _chunkrefs as cr
from frazil import _fork, _reindex
from frazil._assets import AssetManager
from frazil._grid import chunk_counts
from frazil._progress import progress_log
from frazil._refs import normalize_node_path
from frazil._repr import Fields, Mode, ReprMixin, py_bool
from frazil._split import split_array_refs
from frazil._state import RepoState, now_micros
from frazil._sync import sync, with_sync_facades
from frazil._virtual import VirtualChunkReader
from frazil.changeset import UNCHANGED, ChangeSet, RearrangeChangeSet
from frazil.conflicts import rebase_session, resolve_solver
from frazil.errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    FormatError,
    IcechunkError,
    InvalidInputError,
    NodeNotFoundError,
    ReadOnlyError,
    SessionStateError,
)
from frazil.format import codec
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import (
    ArrayData,
    ArrayRefs,
    ChunkChange,
    InlineChunkRef,
    Manifest,
    ManifestFileInfo,
    ManifestRef,
    NativeChunkRef,
    NodeSnapshot,
    RepoInfo,
    Snapshot,
    SnapshotRecord,
    TransactionLog,
    UpdateRecord,
)
from frazil.ops._commit import (
    amend_mutation,
    check_amendable,
    flush_mutation,
    merge_transaction_logs,
)
from frazil.snapshots import Diff
from frazil.store import IcechunkStore
from frazil.types import SessionMode
from frazil.virtual import ChunkType

if TYPE_CHECKING:
    from frazil.repository import Repository

__all__ = ["ForkSession", "Session", "SessionMode"]


def array_shape_from_metadata(meta: dict[str, Any], path: str) -> ArrayData:
    """Shape (array length, number of chunks) per dimension from zarr.json.

    Regular and rectilinear chunk grids (see :mod:`frazil._grid`).
    """
    try:
        shape = [int(x) for x in meta["shape"]]
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"invalid array metadata for {path}: needs shape and a "
                                "chunk_grid", ErrorKind.INVALID_ARRAY_METADATA) from None
    if any(s < 0 for s in shape):
        raise InvalidInputError(f"invalid array metadata for {path}: negative shape {shape}",
                                ErrorKind.INVALID_ARRAY_METADATA)
    counts = chunk_counts(meta, shape, path)
    dims = meta.get("dimension_names")
    names = tuple(dims) if isinstance(dims, list) else None
    return ArrayData(tuple(zip(shape, counts, strict=True)), names, [])


@with_sync_facades
class Session(ReprMixin):
    """A session on a repository (icechunk's ``Session``).

    Built by :class:`~frazil.Repository`; ``assets``, ``state`` and
    ``virtual`` are the repository handle's asset manager, state layer and
    virtual chunk reader.
    """

    #: set by ``Repository.rewrite_manifests``: the next commit rewrites every array's manifests
    _rewrite_all_manifests: bool = False

    def __init__(self, repo: Repository, snapshot: Snapshot, *, branch: str | None,
                 read_only: bool, assets: AssetManager, state: RepoState,
                 virtual: VirtualChunkReader) -> None:
        self._repo = repo
        self._assets = assets
        self._state = state
        self._virtual = virtual
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
    def mode(self) -> SessionMode:
        """``SessionMode.readonly``, ``writable`` or ``rearrange`` (icechunk's ``mode``)."""
        if isinstance(self._changes, RearrangeChangeSet) and not self._read_only:
            return SessionMode.rearrange
        return SessionMode.readonly if self._read_only else SessionMode.writable

    @property
    def config(self) -> Any:
        return self._repo.config

    @property
    def store(self) -> IcechunkStore:
        if self._store is None:
            self._store = IcechunkStore(self, read_only=self._read_only)
        return self._store

    @property
    def has_uncommitted_changes(self) -> bool:
        return not self._changes.is_empty()

    def discard_changes(self) -> None:
        """Drop every uncommitted change (chunks already written become garbage)."""
        if self._read_only:
            raise ReadOnlyError("this session is read-only", ErrorKind.READ_ONLY_SESSION)
        self._changes = self._changes.fresh()

    _repr_name = "frazil.session.Session"

    def _repr_fields(self, mode: Mode) -> Fields:
        fields = [("read_only", py_bool(self.read_only)), ("snapshot_id", self.snapshot_id)]
        if not self.read_only:  # icechunk shows these for writable sessions only
            fields += [("branch", str(self.branch)),
                       ("has_uncommitted_changes", py_bool(self.has_uncommitted_changes))]
        return fields

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyError("this session is read-only", ErrorKind.READ_ONLY_SESSION)
        self._changes.check_editable()  # a rearrange session refuses edits

    # ======================================================= for rebase/solvers
    @property
    def changes(self) -> ChangeSet:
        """The uncommitted edits (frazil extra, for conflict solvers; edit with care)."""
        return self._changes

    @property
    def base_snapshot(self) -> Snapshot:
        """The snapshot this session started from (or was rebased onto)."""
        return self._snapshot

    def base_node(self, path: str) -> NodeSnapshot | None:
        """The node at ``path`` in the base snapshot, ignoring this session's edits."""
        return self._base_nodes.get(path)

    def restore_changes(self, changes: ChangeSet) -> None:
        """Put back a change set saved with ``changes.copy()`` (a failed rebase step)."""
        self._changes = changes

    def at_snapshot(self, snapshot: Snapshot) -> Session:
        """A read-only session of the same repository handle at ``snapshot``."""
        return Session(self._repo, snapshot, branch=None, read_only=True, assets=self._assets,
                       state=self._state, virtual=self._virtual)

    def move_base(self, snapshot: Snapshot) -> None:
        """Re-base onto ``snapshot``, keeping the change set (a rebase step that succeeded)."""
        nodes = {n.path: n for n in snapshot.nodes}
        self._changes.rebase_onto(nodes)
        self._snapshot = snapshot
        self._base_nodes = nodes
        self._ref_indexes.clear()

    # =============================================================== nodes
    def get_node(self, path: str) -> NodeSnapshot | None:
        """The node at canonical ``path`` as this session sees it, or ``None``."""
        return self._changes.node(path, self._base_nodes)

    def list_nodes(self) -> list[NodeSnapshot]:
        """Every node this session sees, sorted by path."""
        return self._changes.nodes(self._base_nodes)

    async def get_node_id_async(self, path: str) -> str:
        """The node id (base32) of the group or array at ``path``."""
        node = self.get_node(normalize_node_path(path))
        if node is None:
            raise NodeNotFoundError(f"node not found: {path}")
        return str(node.id)

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
        if array is not None and self._repo.spec_version < 2:
            _reindex.check_grid_for_spec_1(meta, path)
        existing = self.get_node(path)
        if existing is not None and existing.is_array != (array is not None):
            # replacing a node by one of the other kind would drop its chunks or
            # children silently: delete it first (zarr's overwrite does), as icechunk
            kinds = ("a group", "an array")
            raise AlreadyExistsError(f"node already exists at {path}: it is "
                                     f"{kinds[existing.is_array]}, trying to add "
                                     f"{kinds[array is not None]}", ErrorKind.NODE_ALREADY_EXISTS)
        if existing is None:
            node = NodeSnapshot(NodeId.random(), path, bytes(user_data), array)
        else:
            if array is not None:
                array.manifests = existing.array.manifests if existing.array else []
            node = NodeSnapshot(existing.id, path, bytes(user_data), array, existing.extra)
        self._changes.put_node(node, self._base_nodes)

    def delete_node(self, path: str) -> None:
        """Delete the node at ``path`` and everything under it."""
        self._check_writable()
        self._changes.delete_subtree(path, self._base_nodes)

    # ============================================================== chunks
    def _array(self, path: str) -> NodeSnapshot:
        node = self.get_node(path)
        if node is None:
            raise NodeNotFoundError(f"array not found: {path}")
        if node.array is None:
            raise InvalidInputError(f"{path} is a group, not an array", ErrorKind.NOT_AN_ARRAY)
        return node

    def array_node(self, path: str) -> NodeSnapshot:
        """The array at canonical ``path``; ``NodeNotFoundError`` / ``InvalidInputError``."""
        return self._array(path)

    def _check_coords(self, node: NodeSnapshot, coords: tuple[int, ...]) -> None:
        assert node.array is not None
        shape = node.array.shape
        if len(coords) != len(shape) or any(
                c < 0 or c >= max(n, 1) for c, (_, n) in zip(coords, shape, strict=False)):
            raise InvalidInputError(f"chunk index {list(coords)} is outside the chunk grid of "
                                    f"{node.path}", ErrorKind.INVALID_CHUNK_INDEX)

    async def get_chunk_ref_async(self, path: str, coords: tuple[int, ...]) -> ChunkChange:
        """The ref of one chunk of the array at canonical ``path`` (``None`` if absent)."""
        node = self._array(path)
        ref = self._changes.chunk_ref(node.id, coords)
        if ref is not UNCHANGED:
            return ref  # type: ignore[return-value]
        assert node.array is not None
        for mref in node.array.manifests:
            if cr.covers(mref, coords):
                index = await self._ref_index(mref.object_id, node.id)
                if index is not None:
                    found = index.find(coords)
                    if found is not None:
                        return found
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

    async def get_chunk_async(self, path: str, coords: tuple[int, ...],
                              byte_range: tuple[int, int | None] | None = None) -> bytes | None:
        """Chunk bytes (``byte_range`` relative to the chunk), or ``None`` if absent."""
        ref = await self.get_chunk_ref_async(path, coords)
        if ref is None:
            return None
        if isinstance(ref, InlineChunkRef):
            if byte_range is None:
                return ref.data
            start, end = byte_range
            return ref.data[start:end]
        if isinstance(ref, NativeChunkRef):
            cid, offset, length = ref.chunk_id, ref.offset, ref.length
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
        return await self._virtual.fetch(ref, byte_range)

    async def set_chunk_async(self, path: str, coords: tuple[int, ...], data: bytes) -> None:
        """Record chunk bytes: inline if small, otherwise written to ``chunks/`` now."""
        self._check_writable()
        node = self._array(path)
        self._check_coords(node, coords)
        ref: ChunkChange
        if len(data) <= self._repo.config._inline_threshold:
            ref = InlineChunkRef(bytes(data))
        else:
            cid = ObjectId.random()
            await self._assets.write_chunk(cid, bytes(data))
            ref = NativeChunkRef(cid, 0, len(data))
        self._changes.set_chunk_ref(node.id, coords, ref)

    def set_chunk_ref(self, path: str, coords: tuple[int, ...], ref: ChunkChange) -> None:
        """Point one chunk at ``ref`` (an inline, native or virtual chunk ref)."""
        self._check_writable()
        node = self._array(path)
        self._check_coords(node, coords)
        self._changes.set_chunk_ref(node.id, coords, ref)

    def delete_chunk(self, path: str, coords: tuple[int, ...]) -> None:
        """Delete one chunk of the array at canonical ``path``."""
        self._check_writable()
        node = self._array(path)
        self._changes.set_chunk_ref(node.id, coords, None)

    def set_virtual_batch(self, path: str, batch: cr.VirtualBatch) -> None:
        """Record columnar virtual refs (they override earlier refs at their coords)."""
        self._check_writable()
        node = self._array(path)
        self._changes.add_virtual_batch(node.id, batch)

    async def chunk_coordinates_async(self, array_path: str) -> list[tuple[int, ...]]:
        """Coordinates of every chunk the array at ``array_path`` has in this session."""
        node = self._array(normalize_node_path(array_path))
        assert node.array is not None
        found: set[tuple[int, ...]] = set()
        for mref in node.array.manifests:
            index = await self._ref_index(mref.object_id, node.id)
            if index is not None:
                found.update(map(tuple, index.refs.coords.tolist()))
        for batch in self._changes.virtual_batches(node.id):
            found.update(map(tuple, batch.coords().tolist()))
        for c, ref in self._changes.chunk_changes(node.id).items():
            if ref is None:
                found.discard(c)
            else:
                found.add(c)
        grid = [n for _, n in node.array.shape]
        return sorted(c for c in found if all(x < n for x, n in zip(c, grid, strict=False)))

    def chunk_coordinates(self, array_path: str, batch_size: int = 1000
                          ) -> AsyncIterator[tuple[int, ...]]:
        """An async iterator over the coordinates of every chunk of an array (as icechunk's).

        ``async for index in session.chunk_coordinates("/a"): ...``;
        :meth:`chunk_coordinates_async` returns them as a list (frazil extra).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")

        async def each() -> AsyncIterator[tuple[int, ...]]:
            for index in await self.chunk_coordinates_async(array_path):
                yield index

        return each()

    async def chunk_type_async(self, array_path: str, chunk_coordinates: Any) -> ChunkType:
        """The ``frazil.ChunkType`` of one chunk as this session sees it."""
        ref = await self.get_chunk_ref_async(normalize_node_path(array_path),
                                             tuple(int(c) for c in chunk_coordinates))
        if ref is None:
            return ChunkType.uninitialized
        if isinstance(ref, InlineChunkRef):
            return ChunkType.inline
        return ChunkType.native if isinstance(ref, NativeChunkRef) else ChunkType.virtual

    async def all_virtual_chunk_locations_async(self) -> list[str]:
        """The location of every virtual chunk ref of this session (with repeats)."""
        found: list[str] = []  # one entry per virtual ref, as icechunk (not de-duplicated)
        for node in self.list_nodes():
            if node.array is None:
                continue
            refs = await self._merged_refs(node)
            vir = np.flatnonzero(refs.kinds == cr.KIND_VIRTUAL)
            # virtual refs always have a location; the columnar type cannot say so
            found.extend(refs.locations[i] for i in vir.tolist())  # type: ignore[misc]
        return found

    async def _old_refs(self, node: NodeSnapshot) -> ArrayRefs:
        assert node.array is not None
        ndim = len(node.array.shape)
        parts = []
        for mref in node.array.manifests:
            index = await self._ref_index(mref.object_id, node.id)
            if index is not None:
                parts.append(index.refs)
        return cr.concat(node.id, ndim, parts)

    async def array_refs_async(self, array_path: str) -> ArrayRefs:
        """Every chunk ref of an array as this session sees it, columnar (frazil extra)."""
        return await self._merged_refs(self._array(normalize_node_path(array_path)))

    async def _merged_refs(self, node: NodeSnapshot) -> ArrayRefs:
        """Every chunk ref of array ``node``: its manifests with this session's edits."""
        assert node.array is not None
        refs = await self._old_refs(node)
        grid = tuple(n for _, n in node.array.shape)
        batches = self._changes.virtual_batches(node.id)
        changes = self._changes.chunk_changes(node.id)
        if batches:
            return cr.merge_with_batches(refs, batches, changes, grid)
        if changes:
            return cr.merge(refs, changes, grid)
        return refs

    # ============================================================== status
    def status(self) -> Diff:
        """What this session changed, by path."""
        return self._changes.status(self.list_nodes())

    # ============================================================== commit
    async def commit_async(self, message: str, metadata: dict[str, Any] | None = None, *,
                           rebase_with: Any = None, rebase_tries: int = 1_000,
                           allow_empty: bool = False) -> str:
        """Commit the change set to the session's branch; returns the new snapshot id.

        Raises ``ConflictError`` if the branch moved since the session started
        (unless ``rebase_with`` resolves it). Afterwards the session is
        read-only at the new snapshot.
        """
        if self._read_only:
            raise SessionStateError("cannot commit a read-only session (sessions are read-only "
                                    "after they commit)", ErrorKind.COMMIT_NOT_ALLOWED)
        if not isinstance(message, str):
            raise InvalidInputError("commit message must be a string")
        if self._changes.is_empty() and not allow_empty:
            raise SessionStateError("cannot commit, no changes made to the session (use "
                                    "allow_empty=True)", ErrorKind.NO_CHANGES_TO_COMMIT)
        md = dict(self._repo.default_commit_metadata())
        md.update(metadata or {})
        solver = None if rebase_with is None else resolve_solver(rebase_with)
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

        async def write_objects() -> None:
            # All at once, once the branch is known not to have moved (a conflicting
            # commit writes nothing): nothing refers to these objects until the update
            # publishes the new repo file, after they are written.
            await asyncio.gather(*(self._assets.write_manifest(m, d) for m, d in manifests),
                                 self._assets.write_transaction_log(tx),
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

        await self._state.update(mutate, ready=write_objects)
        return snap

    # ============================================================== rebase
    async def rebase_async(self, solver: Any) -> None:
        """Move this session onto the tip of its branch, resolving conflicts with ``solver``.

        ``solver`` is a ``ConflictSolver`` (or a registered solver name such as
        ``"basic"``). Raises ``RebaseFailedError`` on unresolved conflicts.
        """
        self._changes.materialize_batches()
        await rebase_session(self, solver, self._state, self._assets)

    async def _build_commit(self, message: str, md: dict[str, Any]
                            ) -> tuple[Snapshot, TransactionLog, list[tuple[Manifest, bytes]]]:
        ch = self._changes
        sid = ObjectId.random()
        base_files = {f.id: f for f in self._snapshot.manifest_files}
        nodes = self.list_nodes()
        config = self._repo.config._to_dict()
        policy = self._repo.manifest_split_policy
        manifests: list[Manifest] = []
        files: dict[ObjectId, ManifestFileInfo] = {}
        out_nodes: list[NodeSnapshot] = []
        # rewrite_manifests can be long: its progress is logged on frazil.ops.manifests
        report = (progress_log("rewrite_manifests", None, "frazil.ops.manifests")
                  if self._rewrite_all_manifests else None)
        n_arrays = sum(1 for n in nodes if n.array is not None) if report else 0
        rewritten = 0
        for node in nodes:
            if node.array is None:
                out_nodes.append(node)
                continue
            base = self._base_nodes.get(node.path)
            resized = base is not None and base.id == node.id and base.array is not None \
                and base.array.shape != node.array.shape
            if not ch.has_chunk_changes(node.id) and not resized \
                    and not self._rewrite_all_manifests:
                out_nodes.append(node)
                for m in node.array.manifests:
                    if m.object_id in base_files:
                        files[m.object_id] = base_files[m.object_id]
                continue
            refs = await self._merged_refs(node)
            if not ch.has_chunk_changes(node.id):  # resized only: drop refs outside the grid
                refs = cr.merge(refs, {}, tuple(n for _, n in node.array.shape))
            mrefs = []
            for part in split_array_refs(policy, config, node, refs):
                man = Manifest(ObjectId.random(), [part])
                manifests.append(man)
                mrefs.append(ManifestRef(man.id, cr.extents(part)))
                files[man.id] = ManifestFileInfo(man.id, 0, len(part))
            arr = ArrayData(node.array.shape, node.array.dimension_names, mrefs)
            out_nodes.append(NodeSnapshot(node.id, node.path, node.user_data, arr, node.extra))
            if report is not None:
                rewritten += 1
                report("rewrite arrays", rewritten, n_arrays)
        # manifest sizes are only known once encoded; encode here, write later
        mcfg = config.get("manifest")
        vcomp = mcfg.get("virtual_chunk_location_compression") if isinstance(mcfg, dict) else None
        level = self._assets.compression_level
        encoded = [(man, codec.encode_manifest(man, vcomp, level)) for man in manifests]
        for man, data in encoded:
            files[man.id] = ManifestFileInfo(man.id, len(data), files[man.id].num_chunk_refs)
        snap = Snapshot(id=sid, nodes=out_nodes, flushed_at=now_micros(), message=message,
                        metadata=md, manifest_files=[files[k] for k in sorted(files)])
        if self._assets.spec_version == 1:  # v1 snapshots name their parent
            snap.parent_id = self._snapshot.id
        return snap, ch.transaction_log(sid, nodes), encoded

    # =========================================================== rearrange
    def _begin_rearrange(self) -> None:
        """Make this (fresh, writable) session a rearrange session: moves only."""
        self._changes = RearrangeChangeSet()

    async def move_async(self, from_path: str, to_path: str) -> None:
        """Move or rename the group or array at ``from_path`` (with its subtree) to ``to_path``.

        Metadata only: no chunk is read or written and node ids are kept.
        Needs a session from ``Repository.rearrange_session``.

        Parameters
        ----------
        from_path : str
            Absolute path of the node to move (``"/data/raw"``).
        to_path : str
            Its new absolute path; it must not exist, and its parent must be a group.
        """
        if self._read_only:
            raise ReadOnlyError("this session is read-only", ErrorKind.READ_ONLY_SESSION)
        for p in (from_path, to_path):
            if not isinstance(p, str) or not p.startswith("/"):
                raise InvalidInputError(f"invalid node path {p!r}: path must start with a `/` "
                                        "character", ErrorKind.INVALID_PATH)
        self._changes.move(normalize_node_path(from_path), normalize_node_path(to_path),
                           self._base_nodes)

    async def _live_refs(self, path: str) -> tuple[NodeSnapshot, ArrayRefs]:
        self._check_writable()
        node = self._array(normalize_node_path(path))
        _reindex.check_regular_grid(node)
        return node, await self._merged_refs(node)

    async def shift_array_async(self, array_path: str, chunk_offset: Any) -> None:
        """Shift every chunk of an array by ``chunk_offset`` chunks (per dimension).

        Chunk refs move, chunk bytes do not. Chunks shifted outside the grid
        are dropped (resize first to keep them); positions left without a
        chunk read as the fill value. Only regular chunk grids can be shifted.
        """
        node, refs = await self._live_refs(array_path)
        shifted = _reindex.shift_refs(node, refs, [int(x) for x in chunk_offset])
        if shifted is not None:
            self._changes.add_ref_batch(node.id, _reindex.RefBatch(shifted[0]), shifted[1])

    async def reindex_array_async(self, array_path: str,
                                  forward: Any, backward: Any = None) -> None:
        """Move each existing chunk of an array to ``forward(coords)`` (refs only).

        ``forward`` gets a chunk's index and returns its new index, or ``None``
        to leave it in place. With ``backward`` (the inverse mapping), every
        position that receives no chunk and whose ``backward`` is ``None`` or
        empty is cleared. Only regular chunk grids can be reindexed.
        """
        node, refs = await self._live_refs(array_path)
        changes = _reindex.reindex_changes(node, refs, forward, backward)
        self._changes.set_chunk_refs(node.id, changes)

    # ================================================= distributed: pickling, fork, merge
    def __getstate__(self) -> dict[str, Any]:
        # icechunk's rule: only read-only sessions (and forks) travel to other processes
        if not self._read_only:
            raise ValueError(_fork.PICKLE_WRITABLE_MESSAGE)
        return _fork.session_state(self, with_changes=False)

    def __setstate__(self, state: dict[str, Any]) -> None:
        _fork.restore_session(self, state)

    def fork(self) -> ForkSession:
        """A child session that can be pickled to a worker, written to and merged back.

        The coordinator opens a writable session, calls ``fork()`` once per
        worker job and sends each :class:`ForkSession` to its worker, which
        writes through ``fork.store``. The forks come back (pickled) and
        :meth:`merge` folds them into this session, which then commits.
        Uncommitted changes of this session (new arrays, resizes, chunks) are
        written first as an anonymous snapshot that the fork is based on, so
        workers see them; no branch moves.

        Raises
        ------
        SessionStateError
            When this session is read-only (read-only sessions pickle directly).
        """
        return sync(self._fork_async())

    async def _fork_async(self) -> ForkSession:
        if self._read_only:
            raise SessionStateError(
                "cannot fork a read-only session, read-only sessions can be serialized and "
                "transmitted directly", ErrorKind.CANNOT_FORK_READ_ONLY_SESSION)
        base = self._snapshot
        if not self._changes.is_empty():
            base = await _fork.write_anonymous_snapshot(self)
        return ForkSession(self._repo, base, branch=None, read_only=False, assets=self._assets,
                           state=self._state, virtual=self._virtual)

    async def merge_async(self, *others: ForkSession) -> None:
        """Fold the changes of forked sessions ``others`` into this session.

        Parameters
        ----------
        others : ForkSession
            The forks (usually returned by workers) to merge, in order; a later
            fork's edit of the same chunk wins.
        """
        self._check_writable()
        for other in others:
            if not isinstance(other, Session):
                raise InvalidInputError(f"can only merge frazil sessions, not "
                                        f"{type(other).__name__}")
            if other is self:
                continue  # its edits are already here
            current = {n.path: n for n in self.list_nodes()}
            _fork.merge_changes(self._changes, self._base_nodes, current, other._changes)

    # ======================================================= amend / flush
    # (the repo-info side lives in frazil.ops._commit)
    def _check_can_write_snapshot(self, message: str, allow_empty: bool, what: str) -> None:
        if self._read_only:
            raise SessionStateError(f"cannot {what} a read-only session (sessions are "
                                    "read-only after they commit)", ErrorKind.COMMIT_NOT_ALLOWED)
        if not isinstance(message, str):
            raise InvalidInputError(f"{what} message must be a string")
        if self._changes.is_empty() and not allow_empty:
            raise SessionStateError(f"cannot {what}, no changes made to the session (use "
                                    "allow_empty=True)", ErrorKind.NO_CHANGES_TO_COMMIT)

    def _settle_on(self, snap: Snapshot) -> str:
        """After a snapshot is recorded: the session is read-only at ``snap``."""
        self._snapshot = snap
        self._base_nodes = {n.path: n for n in snap.nodes}
        self._changes = ChangeSet()
        self._ref_indexes.clear()
        self._read_only = True
        if self._store is not None:
            self._store._read_only = True
        return str(snap.id)

    async def _write_snapshot(self, message: str, metadata: dict[str, Any] | None,
                              amend: bool) -> Snapshot:
        md = dict(self._repo.default_commit_metadata())
        md.update(metadata or {})
        base = self._snapshot.id
        if amend:
            check_amendable(await self._state.fetch(), base)
        snap, tx, manifests = await self._build_commit(message, md)
        if amend:
            previous = await self._assets.fetch_transaction_log(base)
            tx = merge_transaction_logs(snap.id, [previous, tx])
        await asyncio.gather(*(self._assets.write_manifest(m, d) for m, d in manifests))
        await asyncio.gather(self._assets.write_transaction_log(tx),
                             self._assets.write_snapshot(snap))
        if amend:
            assert self._branch is not None
            await self._state.update(amend_mutation(self._branch, base, snap, message, md))
        else:
            await self._state.update(flush_mutation(base, snap, message, md))
        return snap

    async def amend_async(self, message: str, *, metadata: dict[str, Any] | None = None,
                          allow_empty: bool = False) -> str:
        """Replace the branch's last commit by one with this session's changes added.

        Parameters
        ----------
        message
            The message of the replacing commit.
        metadata
            Its metadata (merged over the repository's default commit metadata).
        allow_empty
            Allow amending without changes (to change only the message).

        Returns
        -------
        str
            The new snapshot id; the session is then read-only at it.

        Raises
        ------
        ConflictError
            If the branch moved since the session started.
        SessionStateError
            For the repository's first commit, which cannot be amended.
        """
        self._check_can_write_snapshot(message, allow_empty, "amend")
        return self._settle_on(await self._write_snapshot(message, metadata, amend=True))

    async def flush_async(self, message: str, *, metadata: dict[str, Any] | None = None
                          ) -> str:
        """Save the changes as a new snapshot without moving any branch (anonymous snapshot).

        Parameters
        ----------
        message
            The snapshot's message.
        metadata
            Its metadata (merged over the repository's default commit metadata).

        Returns
        -------
        str
            The new snapshot id; the session is then read-only at it.
        """
        self._check_can_write_snapshot(message, True, "flush")
        return self._settle_on(await self._write_snapshot(message, metadata, amend=False))


@with_sync_facades
class ForkSession(Session):
    """A writable session that pickles to a worker, writes there and merges back.

    Made by :meth:`Session.fork`. Forks can neither commit nor flush: merge
    them into the session that created them with :meth:`Session.merge` and
    commit that one.
    """

    def __getstate__(self) -> dict[str, Any]:
        return _fork.session_state(self, with_changes=True)

    @property
    def mode(self) -> SessionMode:
        # icechunk 2.3 reports forks as read-only although they write (read_only is False)
        return SessionMode.readonly

    async def commit_async(self, message: str, metadata: dict[str, Any] | None = None, *,
                           rebase_with: Any = None, rebase_tries: int = 1_000,
                           allow_empty: bool = False) -> str:
        """Always refused: merge the fork into its parent session and commit that."""
        raise SessionStateError(
            "commits are not allowed on read-only or forked sessions, merge forked sessions "
            "back into the base session before committing", ErrorKind.COMMIT_NOT_ALLOWED)

    async def amend_async(self, message: str, *, metadata: dict[str, Any] | None = None,
                          allow_empty: bool = False) -> str:
        """Always refused: merge the fork into its parent session and amend that."""
        return await self.commit_async(message, metadata, allow_empty=allow_empty)

    async def flush_async(self, message: str, *, metadata: dict[str, Any] | None = None) -> str:
        """Always refused: merge the fork into its parent session and flush that."""
        raise IcechunkError("cannot flush a forked session, merge the fork back into the base "
                            "session and flush that instead")
