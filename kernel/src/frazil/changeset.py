"""``ChangeSet``: every uncommitted edit of a writable session.

The change set is the only mutable in-memory state of a writable session. It
knows nothing of storage: nodes are :class:`~frazil.format.model.NodeSnapshot`
values keyed by path, chunk edits are typed chunk refs keyed by node id and
coordinates, and columnar virtual refs (``set_virtual_refs_arr``) stay as
:class:`~frazil._chunkrefs.VirtualBatch` columns until commit. Sessions read
through it (``node``/``chunk_ref``) with the base snapshot's nodes as the
fallback; rebase copies, edits and re-bases it; forks pickle and merge it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from frazil._chunkrefs import VirtualBatch
from frazil._moves import MoveTracker, check_move
from frazil._refs import is_descendant
from frazil._reindex import RefBatch
from frazil.errors import ErrorKind, SessionStateError
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import (
    ArrayData,
    ChunkChange,
    NodeSnapshot,
    TransactionLog,
    VirtualChunkRef,
)
from frazil.snapshots import Diff

__all__ = ["UNCHANGED", "ChangeSet", "RearrangeChangeSet"]

_SORT_IN_PYTHON = 256  # changed_coords sorts this many chunks or fewer as tuples


class _Unchanged:
    """Sentinel: the change set says nothing about this chunk (``None`` means deleted)."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> str:
        return "UNCHANGED"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


@dataclass
class ChangeSet:
    """Uncommitted edits: nodes added/updated/deleted, chunk refs set/deleted.

    Precedence of chunk edits: an entry of ``chunks`` overrides every virtual
    batch (adding a batch drops the ``chunks`` entries it covers), and a later
    batch overrides an earlier one.
    """

    new: dict[str, NodeSnapshot] = field(default_factory=dict)
    updated: dict[str, NodeSnapshot] = field(default_factory=dict)
    deleted: dict[str, NodeSnapshot] = field(default_factory=dict)  # base nodes, by path
    chunks: dict[NodeId, dict[tuple[int, ...], ChunkChange]] = field(default_factory=dict)
    vbatches: dict[NodeId, list[VirtualBatch]] = field(default_factory=dict)

    # ================================================================ state
    def is_empty(self) -> bool:
        return not (self.new or self.updated or self.deleted or self.chunks or self.vbatches)

    def copy(self) -> ChangeSet:
        """An independent copy (node values and batches are immutable, shared)."""
        return ChangeSet(dict(self.new), dict(self.updated), dict(self.deleted),
                         {nid: dict(c) for nid, c in self.chunks.items()},
                         {nid: list(b) for nid, b in self.vbatches.items()})

    def merge(self, other: ChangeSet) -> None:
        """Fold ``other`` (e.g. a fork's edits, made later) into this change set.

        Node edits of ``other`` win path by path; its chunk edits win chunk by
        chunk, and its virtual batches apply after ours.
        """
        for path, node in other.deleted.items():
            self.new.pop(path, None)
            self.updated.pop(path, None)
            self.deleted[path] = node
        for path, node in other.new.items():
            self.deleted.pop(path, None)
            self.new[path] = node
        for path, node in other.updated.items():
            (self.new if path in self.new else self.updated)[path] = node
        for nid, batches in other.vbatches.items():
            mine = self.chunks.get(nid)
            for batch in batches:
                if mine:
                    batch.drop_from(mine)
            self.vbatches.setdefault(nid, []).extend(batches)
        for nid, changes in other.chunks.items():
            self.chunks.setdefault(nid, {}).update(changes)

    # ================================================================ nodes
    def node(self, path: str, base: Mapping[str, NodeSnapshot]) -> NodeSnapshot | None:
        """The node at ``path`` with these edits over ``base`` (``None`` if absent)."""
        node = self.new.get(path)
        if node is not None:
            return node
        if path in self.deleted:
            return None
        return self.updated.get(path) or base.get(path)

    def nodes(self, base: Mapping[str, NodeSnapshot]) -> list[NodeSnapshot]:
        """Every live node, sorted by path bytes (the snapshot order)."""
        out = {p: n for p, n in base.items() if p not in self.deleted}
        out.update(self.updated)
        out.update(self.new)
        return [out[p] for p in sorted(out, key=lambda p: p.encode())]

    def put_node(self, node: NodeSnapshot, base: Mapping[str, NodeSnapshot]) -> None:
        """Record ``node`` as added (no live node at its path) or updated."""
        path = node.path
        if path in self.new or (path not in self.updated and self.node(path, base) is None):
            self.new[path] = node
        else:
            self.updated[path] = node

    def delete_subtree(self, path: str, base: Mapping[str, NodeSnapshot]) -> None:
        """Delete the node at ``path`` and every node under it, with their chunk edits."""
        for node in self.nodes(base):
            if node.path != path and not is_descendant(node.path, path):
                continue
            if self.new.pop(node.path, None) is not None:
                self.drop_chunks_of(node.id)
            old = base.get(node.path)
            if old is not None and old.id == node.id:
                self.updated.pop(node.path, None)
                self.deleted[node.path] = old
                self.drop_chunks_of(node.id)

    # =============================================================== chunks
    def chunk_ref(self, nid: NodeId, coords: tuple[int, ...]) -> ChunkChange | _Unchanged:
        """This change set's ref of one chunk, ``None`` if deleted, else :data:`UNCHANGED`."""
        changes = self.chunks.get(nid)
        if changes is not None and coords in changes:
            return changes[coords]
        for batch in reversed(self.vbatches.get(nid, ())):
            ref = batch.find(coords)
            if ref is not None:
                return ref
        return UNCHANGED

    def set_chunk_ref(self, nid: NodeId, coords: tuple[int, ...], ref: ChunkChange) -> None:
        """Set (or with ``None`` delete) one chunk."""
        self.chunks.setdefault(nid, {})[coords] = ref

    def add_virtual_batch(self, nid: NodeId, batch: VirtualBatch) -> None:
        """Columnar virtual refs overriding every earlier edit at their coordinates."""
        changes = self.chunks.get(nid)
        if changes:
            batch.drop_from(changes)
        self.vbatches.setdefault(nid, []).append(batch)

    def drop_chunk_changes(self, nid: NodeId, coords: Iterable[Iterable[int]]) -> None:
        """Forget the per-chunk edits of ``coords`` (rebase: "theirs" wins)."""
        changes = self.chunks.get(nid)
        if not changes:
            return
        for c in coords:
            changes.pop(tuple(int(x) for x in c), None)
        if not changes:
            del self.chunks[nid]

    def drop_chunks_of(self, nid: NodeId) -> None:
        self.chunks.pop(nid, None)
        self.vbatches.pop(nid, None)

    def chunk_changes(self, nid: NodeId) -> dict[tuple[int, ...], ChunkChange]:
        """Per-chunk edits of node ``nid`` (read-only view; empty if none)."""
        return self.chunks.get(nid) or {}

    def virtual_batches(self, nid: NodeId) -> list[VirtualBatch]:
        return self.vbatches.get(nid) or []

    def changed_node_ids(self) -> set[NodeId]:
        """Nodes with chunk edits (per-chunk or columnar)."""
        return set(self.chunks) | set(self.vbatches)

    def has_chunk_changes(self, nid: NodeId) -> bool:
        return bool(self.chunks.get(nid)) or bool(self.vbatches.get(nid))

    def changed_coords(self, nid: NodeId) -> np.ndarray | None:
        """Sorted unique coordinates changed for node ``nid`` (``None`` if none)."""
        batches = self.vbatches.get(nid, ())
        changes = self.chunks.get(nid) or {}
        if not batches and 0 < len(changes) <= _SORT_IN_PYTHON:
            # few chunks (a small commit): the keys are unique and tuples sort
            # lexicographically, as np.unique(axis=0) does, at a fraction of its fixed cost
            ndim = len(next(iter(changes)))
            return np.array(sorted(changes), np.uint32).reshape(len(changes), ndim)
        parts = [b.coords() for b in batches]
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

    def materialize_batches(self) -> None:
        """Fold columnar virtual batches into per-chunk edits (rebase edits chunk by chunk)."""
        for nid, batches in self.vbatches.items():
            merged: dict[tuple[int, ...], ChunkChange] = {}
            for b in batches:
                if isinstance(b, RefBatch):  # a shift's refs, of any kind
                    merged.update(b.items())
                    continue
                for i, c in zip(b.rows().tolist(), map(tuple, b.coords().tolist()),
                                strict=True):
                    merged[c] = VirtualChunkRef(b.locations[i], int(b.offsets[i]),
                                                int(b.lengths[i]), b.etag, b.last_modified)
            merged.update(self.chunks.get(nid, {}))
            self.chunks[nid] = merged
        self.vbatches = {}

    # =============================================================== rebase
    def rebase_onto(self, nodes: Mapping[str, NodeSnapshot]) -> None:
        """Adjust for a new base whose nodes are ``nodes``.

        Updated arrays take their manifest list from the new base, so chunks
        written by the commits rebased over are kept; a deletion whose node is
        already gone there is dropped (whatever lives at that path now is not
        ours to delete).
        """
        for p, node in list(self.updated.items()):
            t = nodes.get(p)
            if node.array is not None and t is not None and t.id == node.id \
                    and t.array is not None:
                arr = ArrayData(node.array.shape, node.array.dimension_names,
                                list(t.array.manifests))
                self.updated[p] = NodeSnapshot(node.id, p, node.user_data, arr, node.extra)
        for p, gone in list(self.deleted.items()):
            t = nodes.get(p)
            if t is None or t.id != gone.id:
                del self.deleted[p]
                self.chunks.pop(gone.id, None)

    # ============================================================= outputs
    def status(self, live: Iterable[NodeSnapshot]) -> Diff:
        """The edits by path (``live``: the session's nodes, to name chunk edits)."""
        diff = Diff()
        for p, n in self.new.items():
            (diff.new_arrays if n.is_array else diff.new_groups).add(p)
        for p, n in self.updated.items():
            (diff.updated_arrays if n.is_array else diff.updated_groups).add(p)
        for p, n in self.deleted.items():
            (diff.deleted_arrays if n.is_array else diff.deleted_groups).add(p)
        paths = {n.id: n.path for n in live}
        for nid in self.changed_node_ids():
            coords = self.changed_coords(nid)
            if nid in paths and coords is not None:
                diff.updated_chunks[paths[nid]] = coords.tolist()
        return diff

    def transaction_log(self, sid: ObjectId, live: Iterable[NodeSnapshot]) -> TransactionLog:
        """The transaction log of committing these edits as snapshot ``sid``."""
        tx = TransactionLog(id=sid)
        for n in self.new.values():
            (tx.new_arrays if n.is_array else tx.new_groups).append(n.id)
        for n in self.updated.values():
            (tx.updated_arrays if n.is_array else tx.updated_groups).append(n.id)
        for n in self.deleted.values():
            (tx.deleted_arrays if n.is_array else tx.deleted_groups).append(n.id)
        live_ids = {n.id for n in live}
        for nid in self.changed_node_ids():
            coords = self.changed_coords(nid) if nid in live_ids else None
            if coords is not None:
                tx.updated_chunks[nid] = coords
        for lst in (tx.new_groups, tx.new_arrays, tx.deleted_groups, tx.deleted_arrays,
                    tx.updated_arrays, tx.updated_groups):
            lst.sort(key=lambda n: n.raw)
        tx.updated_chunks = dict(sorted(tx.updated_chunks.items(), key=lambda kv: kv[0].raw))
        return tx

    # ============================================================ rearrange
    def check_editable(self) -> None:
        """Refuse node and chunk edits here (a rearrange change set does)."""

    def fresh(self) -> ChangeSet:
        """An empty change set of the same kind."""
        return ChangeSet()

    def set_chunk_refs(self, nid: NodeId,
                       changes: Mapping[tuple[int, ...], ChunkChange]) -> None:
        """Set (``None``: delete) many chunks at once; they override every virtual batch."""
        if changes:
            self.chunks.setdefault(nid, {}).update(changes)

    def add_ref_batch(self, nid: NodeId, batch: RefBatch, cleared: np.ndarray) -> None:
        """A shift: columnar refs (overriding earlier edits there) and positions cleared."""
        self.add_virtual_batch(nid, batch)  # type: ignore[arg-type]
        self.set_chunk_refs(nid, dict.fromkeys(map(tuple, cleared.tolist())))

    def move(self, from_path: str, to_path: str, base: Mapping[str, NodeSnapshot]) -> None:
        """Record a move: only a rearrange change set can (icechunk's refusal otherwise).

        The move is checked first, so a bad one gets its own error, as icechunk.
        """
        check_move(from_path, to_path, {n.path: n for n in self.nodes(base)})
        raise SessionStateError(
            "moving nodes needs a rearrange session: commit or discard this session and open "
            "one with Repository.rearrange_session", ErrorKind.NON_REARRANGE_SESSION)


def _rearrange_only() -> SessionStateError:
    return SessionStateError(
        "this session was opened to rearrange the hierarchy (moves only); other writes are "
        "refused: commit or discard it and open a writable session",
        ErrorKind.REARRANGE_SESSION_ONLY)


@dataclass
class RearrangeChangeSet(ChangeSet):
    """The change set of a rearrange session: moves of nodes, nothing else.

    The session sees the base snapshot's nodes with the moves applied (the
    view is cached per base mapping and number of moves). Node and chunk
    edits are refused with icechunk's ``rearrange-session-only`` error.
    """

    tracker: MoveTracker = field(default_factory=MoveTracker)

    def __post_init__(self) -> None:
        self._view: tuple[Mapping[str, NodeSnapshot], int, dict[str, NodeSnapshot]] | None = None

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_view"] = None
        return state

    def _moved(self, base: Mapping[str, NodeSnapshot]) -> dict[str, NodeSnapshot]:
        cached = self._view
        if cached is not None and cached[0] is base and cached[1] == len(self.tracker.moves):
            return cached[2]
        view = self.tracker.view(base)
        self._view = (base, len(self.tracker.moves), view)
        return view

    def is_empty(self) -> bool:
        return self.tracker.is_empty()

    def copy(self) -> RearrangeChangeSet:
        return RearrangeChangeSet(tracker=self.tracker.copy())

    def fresh(self) -> RearrangeChangeSet:
        return RearrangeChangeSet()

    def check_editable(self) -> None:
        raise _rearrange_only()

    def merge(self, other: ChangeSet) -> None:
        raise _rearrange_only()

    def node(self, path: str, base: Mapping[str, NodeSnapshot]) -> NodeSnapshot | None:
        return self._moved(base).get(path)

    def nodes(self, base: Mapping[str, NodeSnapshot]) -> list[NodeSnapshot]:
        view = self._moved(base)
        return [view[p] for p in sorted(view, key=lambda p: p.encode())]

    def put_node(self, node: NodeSnapshot, base: Mapping[str, NodeSnapshot]) -> None:
        raise _rearrange_only()

    def delete_subtree(self, path: str, base: Mapping[str, NodeSnapshot]) -> None:
        raise _rearrange_only()

    def set_chunk_ref(self, nid: NodeId, coords: tuple[int, ...], ref: ChunkChange) -> None:
        raise _rearrange_only()

    def add_virtual_batch(self, nid: NodeId, batch: VirtualBatch) -> None:
        raise _rearrange_only()

    def set_chunk_refs(self, nid: NodeId,
                       changes: Mapping[tuple[int, ...], ChunkChange]) -> None:
        raise _rearrange_only()

    def add_ref_batch(self, nid: NodeId, batch: RefBatch, cleared: np.ndarray) -> None:
        raise _rearrange_only()

    def move(self, from_path: str, to_path: str, base: Mapping[str, NodeSnapshot]) -> None:
        """Move the node at ``from_path`` (and its subtree) to ``to_path``, or refuse."""
        view = self._moved(base)
        check_move(from_path, to_path, view)
        subtree = [n for p, n in view.items() if p == from_path or is_descendant(p, from_path)]
        self.tracker.record(from_path, to_path, subtree)

    def status(self, live: Iterable[NodeSnapshot]) -> Diff:
        diff = Diff()
        diff.moved_nodes = [(m.from_path, m.to_path) for m in self.tracker.operations()]
        return diff

    def transaction_log(self, sid: ObjectId, live: Iterable[NodeSnapshot]) -> TransactionLog:
        return TransactionLog(id=sid, moved_nodes=self.tracker.operations())
