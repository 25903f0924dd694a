"""Forks and pickling of sessions (icechunk's distributed-write rules).

A fork is a writable session based on an *anonymous* snapshot: the parent's
uncommitted edits are written as manifests and a snapshot file that no branch
or tag points at, so a worker that unpickles the fork sees exactly what the
parent saw (new arrays, resizes, chunks) without shipping the change set. The
fork's own edits travel back in its pickle and are folded into the parent by
:func:`merge_changes`; only the parent commits.

Pickling carries the repository handle (storage settings, credentials,
configuration with its virtual chunk containers, authorizations), the base
snapshot and, for forks, the change set. Caches are rebuilt on the other side.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from frazil.changeset import ChangeSet
from frazil.format.model import ArrayData, NodeSnapshot, Snapshot
from frazil.storage import InMemoryStorage, Storage

if TYPE_CHECKING:
    from frazil.repository import Repository
    from frazil.session import Session

__all__ = [
    "PICKLE_WRITABLE_MESSAGE",
    "merge_changes",
    "picklable_storage",
    "restore_session",
    "session_state",
    "write_anonymous_snapshot",
]

PICKLE_WRITABLE_MESSAGE = (
    "a writable session cannot be pickled: its uncommitted changes would be lost or "
    "committed twice. For distributed or multi-process writes, call Session.fork() and "
    "send the ForkSession to the workers, then merge the returned forks with "
    "Session.merge(*forks) and commit. To write dask-backed xarray objects use "
    "frazil.xarray.to_icechunk instead of Dataset.to_zarr; to read from workers, pass a "
    "session from Repository.readonly_session (or the ForkSession) instead. "
    "See https://icechunk.io/en/stable/parallel/#distributed-writes"
)

# message of the anonymous snapshot that carries a parent's edits into its forks
FORK_SNAPSHOT_MESSAGE = "frazil fork: uncommitted changes of the parent session"


# ================================================================ anonymous snapshots
async def write_anonymous_snapshot(session: Session) -> Snapshot:
    """Write ``session``'s base plus its change set as a snapshot no ref points at.

    Manifests, transaction log and snapshot file are written exactly as a
    commit writes them; the repo info file is not touched, so nothing becomes
    visible on any branch.
    """
    snap, tx, manifests = await session._build_commit(FORK_SNAPSHOT_MESSAGE, {})
    assets = session._assets
    await asyncio.gather(*(assets.write_manifest(m, d) for m, d in manifests))
    await asyncio.gather(assets.write_transaction_log(tx), assets.write_snapshot(snap))
    return snap


# ============================================================================ merge
def merge_changes(target: ChangeSet, base: dict[str, NodeSnapshot],
                  current: dict[str, NodeSnapshot], other: ChangeSet) -> None:
    """Fold a fork's change set ``other`` into ``target`` (the parent's edits over ``base``).

    ``current`` maps paths to the nodes the parent sees now. The fork's node
    edits are replayed through the parent's change set (so a node the parent
    itself created and the fork deleted simply disappears), and an array the
    fork updated keeps the parent's manifest list: the fork's list points at
    the anonymous snapshot, whose refs the parent's change set still holds.
    Chunk edits and virtual batches then merge with :meth:`ChangeSet.merge`.
    """
    for path, gone in sorted(other.deleted.items(), key=lambda kv: kv[0].encode()):
        live = target.node(path, base)
        if live is not None and live.id == gone.id:
            target.delete_subtree(path, base)
    for node in (*other.new.values(), *other.updated.values()):
        target.put_node(_with_parent_manifests(node, current.get(node.path)), base)
    target.merge(ChangeSet(chunks={nid: dict(c) for nid, c in other.chunks.items()},
                           vbatches={nid: list(b) for nid, b in other.vbatches.items()}))


def _with_parent_manifests(node: NodeSnapshot, mine: NodeSnapshot | None) -> NodeSnapshot:
    if node.array is None:
        return node
    manifests = list(mine.array.manifests) if (
        mine is not None and mine.id == node.id and mine.array is not None) else []
    arr = ArrayData(node.array.shape, node.array.dimension_names, manifests)
    return NodeSnapshot(node.id, node.path, node.user_data, arr, node.extra)


# ========================================================================= pickling
def session_state(session: Session, *, with_changes: bool) -> dict[str, Any]:
    """What a session pickles: its repository handle, base snapshot and mode."""
    state: dict[str, Any] = {"repo": session._repo, "snapshot": session._snapshot,
                             "branch": session._branch, "read_only": session._read_only}
    if with_changes:
        state["changes"] = session._changes
    return state


def restore_session(session: Session, state: dict[str, Any]) -> None:
    """Rebuild an unpickled session over its repository handle's caches."""
    if not isinstance(state, dict) or "repo" not in state:
        raise ValueError("invalid pickled session state")
    repo: Repository = state["repo"]
    type(session).__init__(session, repo, state["snapshot"], branch=state["branch"],
                           read_only=state["read_only"], assets=repo._assets,
                           state=repo._state, virtual=repo._virtual)
    changes = state.get("changes")
    if changes is not None:
        session._changes = changes


def picklable_storage(storage: Storage) -> Storage | tuple[str, int]:
    """The storage as a repository handle pickles it.

    In-memory data never leaves its process (icechunk's rule): the handle
    pickles as an empty in-memory storage, so the copy finds no repository.
    """
    if isinstance(storage, InMemoryStorage):
        return ("in-memory", storage.max_concurrent_requests)
    return storage


def unpickled_storage(value: Storage | tuple[str, int]) -> Storage:
    if isinstance(value, tuple):
        return InMemoryStorage(max_concurrent_requests=value[1])
    return value
