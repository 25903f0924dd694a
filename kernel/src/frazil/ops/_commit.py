"""Amend and flush (anonymous snapshots): the repo-info side, as icechunk 2.3 does them.

- **amend** replaces the tip of a branch: the new snapshot gets the old tip's
  parent (and its ``pruned_ancestor_tx_logs``), its transaction log is the
  union of the old tip's and the session's, and the ops log records
  ``CommitAmended``. The replaced snapshot stays in the history file,
  unreachable, until expiry and garbage collection. The first commit of a
  repository cannot be amended.
- **flush** records a detached snapshot whose parent is the session's base;
  no branch moves; the ops log records ``NewDetachedSnapshot``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from frazil._moves import merge_moves
from frazil.errors import ConflictError, ErrorKind, SessionStateError
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, Snapshot, SnapshotRecord, TransactionLog, UpdateRecord
from frazil.ops._guard import check_online

__all__ = ["amend_mutation", "check_amendable", "flush_mutation", "merge_transaction_logs",
           "splitting_config_json"]

_FIRST_COMMIT = ("the first commit in the repository cannot be an amend, create a new commit "
                 "instead")


def merge_transaction_logs(sid: ObjectId, logs: list[TransactionLog]) -> TransactionLog:
    """The union of ``logs`` as the log of snapshot ``sid`` (ids sorted, chunks unique)."""
    out = TransactionLog(id=sid)
    for name in ("new_groups", "new_arrays", "deleted_groups", "deleted_arrays",
                 "updated_arrays", "updated_groups"):
        ids = {n for tx in logs for n in getattr(tx, name)}
        setattr(out, name, sorted(ids, key=lambda n: n.raw))
    chunks: dict[Any, list[np.ndarray]] = {}
    for tx in logs:
        for nid, coords in tx.updated_chunks.items():
            chunks.setdefault(nid, []).append(np.asarray(coords, np.uint32))
    for nid in sorted(chunks, key=lambda n: n.raw):
        parts = [p.reshape(len(p), -1) for p in chunks[nid]]
        out.updated_chunks[nid] = np.unique(np.concatenate(parts), axis=0).astype(np.uint32)
    # per node the first origin and the last destination, as icechunk collapses them
    out.moved_nodes = merge_moves(tx.moved_nodes for tx in logs)
    return out


def check_amendable(info: RepoInfo, base: ObjectId) -> None:
    """Refuse amending the repository's first commit."""
    rec = info.snapshots.get(base)
    if rec is None or rec.parent_id is None:
        raise SessionStateError(_FIRST_COMMIT, ErrorKind.NO_AMEND_FOR_INITIAL_COMMIT)


def amend_mutation(branch: str, base: ObjectId, snap: Snapshot, message: str,
                   md: dict[str, Any]) -> Any:
    """The repo-info mutation replacing ``branch``'s tip ``base`` by ``snap``."""
    def mutate(info: RepoInfo) -> UpdateRecord:
        check_online(info, "amend a commit")
        tip = info.branches.get(branch)
        if tip != base:
            raise ConflictError(str(base), None if tip is None else str(tip))
        check_amendable(info, base)
        old = info.snapshots[base]
        info.snapshots[snap.id] = SnapshotRecord(
            snap.id, old.parent_id, snap.flushed_at, message, md,
            None if not old.pruned_ancestor_tx_logs else list(old.pruned_ancestor_tx_logs))
        info.branches[branch] = snap.id
        return UpdateRecord("CommitAmended", {"branch": branch, "previous_snap_id": base,
                                              "new_snap_id": snap.id}, 0)
    return mutate


def flush_mutation(base: ObjectId, snap: Snapshot, message: str, md: dict[str, Any]) -> Any:
    """The repo-info mutation recording ``snap`` as a detached child of ``base``."""
    def mutate(info: RepoInfo) -> UpdateRecord:
        check_online(info, "flush a snapshot")
        info.snapshots[snap.id] = SnapshotRecord(snap.id, base, snap.flushed_at, message, md)
        return UpdateRecord("NewDetachedSnapshot", {"new_snap_id": snap.id}, 0)
    return mutate


#: What icechunk records when no split sizes are configured: one manifest per array.
_NO_SPLITTING = {"split_sizes": [[{"path_matches": {"regex": ".*"}},
                                  [{"condition": "Any", "num_chunks": 4294967295}]]]}


def splitting_config_json(config: dict[str, Any]) -> dict[str, Any]:
    """The split configuration ``rewrite_manifests`` records in the commit metadata."""
    manifest = config.get("manifest") if isinstance(config, dict) else None
    splitting = manifest.get("splitting") if isinstance(manifest, dict) else None
    if isinstance(splitting, dict) and splitting.get("split_sizes"):
        return copy.deepcopy(splitting)
    return copy.deepcopy(_NO_SPLITTING)
