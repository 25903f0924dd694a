"""Conflict detection from transaction logs, the solver interface, and rebase.

Rebase walks the branch from its tip back to the session's base snapshot,
fetches the transaction logs (and snapshots) of the commits in between
concurrently, then replays them oldest first: for each commit the session's
change set is checked against that commit's transaction log
(:func:`detect_conflicts`), a :class:`ConflictSolver` resolves what it can by
editing the change set, and the session moves its base to that commit. An
unresolved conflict raises :class:`~frazil.RebaseFailedError` naming the commit;
the change set is left as it was before that commit was tried and the session
stays based on the last commit that rebased cleanly (icechunk's behaviour).
"""

from __future__ import annotations

import asyncio
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from frazil._assets import AssetManager
from frazil._state import RepoState
from frazil.conflicts._types import Conflict, ConflictType
from frazil.errors import ErrorKind, InvalidInputError, RebaseFailedError, SessionStateError
from frazil.format.ids import NodeId
from frazil.format.model import NodeSnapshot, Snapshot, TransactionLog
from frazil.plugins import get_plugins

if TYPE_CHECKING:
    from frazil.session import Session

__all__ = ["ConflictDetector", "ConflictSolver", "RebaseStep", "detect_conflicts",
           "rebase_session", "resolve_solver"]

CT = ConflictType


class RebaseStep:
    """What a solver sees for one commit being rebased over.

    ``session`` is ours (based on the parent of the commit), ``theirs`` the
    commit's snapshot, ``tx_log`` its transaction log and ``conflicts`` what
    the detector found. Solvers resolve conflicts by editing our change set
    through the helpers here (or ``session`` directly).
    """

    def __init__(self, session: Session, snapshot_id: str, theirs: Snapshot,
                 tx_log: TransactionLog, conflicts: list[Conflict]) -> None:
        self.session = session
        self.snapshot_id = snapshot_id
        self.theirs = theirs
        self.tx_log = tx_log
        self.conflicts = list(conflicts)
        self._their_nodes = {n.path: n for n in theirs.nodes}
        self._sessions: dict[str, Session] = {}

    def with_conflicts(self, conflicts: Iterable[Conflict]) -> RebaseStep:
        """The same step with a different conflict list (to delegate to another solver)."""
        step = RebaseStep.__new__(RebaseStep)
        step.__dict__.update(self.__dict__)
        step.conflicts = list(conflicts)
        return step

    # ------------------------------------------------------------- nodes
    def our_node(self, path: str) -> NodeSnapshot | None:
        """The node at ``path`` as our session sees it (with our changes)."""
        return self.session.get_node(path)

    def base_node(self, path: str) -> NodeSnapshot | None:
        """The node at ``path`` in the common ancestor (parent of their commit)."""
        return self.session.base_node(path)

    def their_node(self, path: str) -> NodeSnapshot | None:
        """The node at ``path`` in their commit."""
        return self._their_nodes.get(path)

    # ------------------------------------------------------------ sessions
    def _readonly(self, which: str, snap: Snapshot) -> Session:
        s = self._sessions.get(which)
        if s is None:
            s = self._sessions[which] = self.session.at_snapshot(snap)
        return s

    @property
    def theirs_session(self) -> Session:
        """A read-only session on their commit (for reading their chunks)."""
        return self._readonly("theirs", self.theirs)

    @property
    def base_session(self) -> Session:
        """A read-only session on the common ancestor."""
        return self._readonly("base", self.session.base_snapshot)

    # ------------------------------------------------------------- edits
    def drop_chunk_changes(self, path: str, coords: Iterable[Iterable[int]]) -> None:
        """Forget our writes of the chunks ``coords`` of ``path`` (theirs win)."""
        node = self.session.get_node(path)
        if node is not None:
            self.session.changes.drop_chunk_changes(node.id, coords)

    def set_our_metadata(self, path: str, user_data: bytes) -> None:
        """Replace our zarr.json of ``path`` (e.g. with a merged version)."""
        self.session.set_node_metadata(path, user_data)

    async def set_our_chunk(self, path: str, coords: tuple[int, ...], data: bytes) -> None:
        """Replace our (encoded) bytes of one chunk."""
        await self.session.set_chunk_async(path, tuple(coords), data)


class ConflictSolver(ABC):
    """Resolves the conflicts of one :class:`RebaseStep`.

    ``solve`` (sync or ``async``) edits the session's change set to resolve
    conflicts and returns the conflicts it could not resolve; an empty list
    means the step is solved. Returning any conflict fails the rebase with
    :class:`~frazil.RebaseFailedError`, and the change set is restored.
    """

    @abstractmethod
    def solve(self, step: RebaseStep) -> list[Conflict] | Awaitable[list[Conflict]]:
        ...


class ConflictDetector(ConflictSolver):
    """Resolves nothing: any conflict fails the rebase (icechunk's ``ConflictDetector``)."""

    def solve(self, step: RebaseStep) -> list[Conflict]:
        return list(step.conflicts)

    def __repr__(self) -> str:
        return "ConflictDetector()"


async def run_solver(solver: ConflictSolver, step: RebaseStep) -> list[Conflict]:
    """Run ``solver`` on ``step`` whether its ``solve`` is sync or async."""
    if not step.conflicts:
        return []
    out = solver.solve(step)
    if inspect.isawaitable(out):
        out = await out
    return list(out or [])


def resolve_solver(solver: Any) -> ConflictSolver:
    """A solver instance from an instance, a class, or a registered name."""
    if isinstance(solver, str):
        solver = get_plugins().conflict_solver(solver)
    if isinstance(solver, type):
        solver = solver()
    if not callable(getattr(solver, "solve", None)):
        raise InvalidInputError(f"not a conflict solver: {solver!r} (pass a ConflictSolver, "
                                "or the name of a registered one such as 'basic')")
    return solver  # type: ignore[no-any-return]


# ------------------------------------------------------------------ detection
def _ancestors(path: str) -> list[str]:
    """Proper ancestors of ``path``, nearest first, ending with ``/``."""
    out = []
    while path != "/":
        path = path.rsplit("/", 1)[0] or "/"
        out.append(path)
    return out


def detect_conflicts(session: Session, theirs: Snapshot, tx: TransactionLog) -> list[Conflict]:
    """Conflicts between ``session``'s change set and one commit (icechunk's detector)."""
    ch = session.changes
    if tx.moved_nodes:
        return [Conflict(CT.MoveOperationCannotBeRebased, "/")]
    their_nodes = {n.path: n for n in theirs.nodes}
    upd_arrays, upd_groups = set(tx.updated_arrays), set(tx.updated_groups)
    del_arrays, del_groups = set(tx.deleted_arrays), set(tx.deleted_groups)
    tx_chunks = tx.updated_chunks

    paths: dict[NodeId, str] = {n.id: n.path for n in ch.deleted.values()}
    paths.update({n.id: n.path for n in session.list_nodes()})

    def by_path(items: Iterable[tuple[str, Conflict]]) -> list[Conflict]:
        return [c for _, c in sorted(items, key=lambda kv: kv[0].encode())]

    out: list[Conflict] = []
    out += by_path((p, Conflict(CT.NewNodeConflictsWithExistingNode, p, node_id=n.id))
                   for p, n in ch.new.items() if p not in ch.deleted and p in their_nodes)
    implicit = []
    for p, n in ch.new.items():
        for anc in _ancestors(p):
            t = their_nodes.get(anc)
            if t is not None and t.is_array:
                implicit.append((p, Conflict(CT.NewNodeInInvalidGroup, anc, node_id=t.id)))
                break
    out += by_path(implicit)
    updated = list(ch.updated.values())
    for kind, is_array, ids in (
            (CT.ZarrMetadataDoubleUpdate, True, upd_arrays),
            (CT.ZarrMetadataDoubleUpdate, False, upd_groups),
            (CT.ZarrMetadataUpdateOfDeletedArray, True, del_arrays),
            (CT.ZarrMetadataUpdateOfDeletedGroup, False, del_groups)):
        out += by_path((n.path, Conflict(kind, n.path, node_id=n.id)) for n in updated
                       if n.is_array == is_array and n.id in ids)
    chunked = [nid for nid, changes in ch.chunks.items() if changes and nid in paths]
    for kind, ids in ((CT.ChunksUpdatedInDeletedArray, del_arrays),
                      (CT.ChunksUpdatedInUpdatedArray, upd_arrays)):
        out += by_path((paths[nid], Conflict(kind, paths[nid], node_id=nid))
                       for nid in chunked if nid in ids)
    double = []
    for nid in chunked:
        prev = tx_chunks.get(nid)
        if prev is None or len(prev) == 0:
            continue
        prev_set = set(map(tuple, prev.tolist()))
        both = [c for c in ch.chunks[nid] if c in prev_set]
        if both:
            double.append((paths[nid], Conflict(CT.ChunkDoubleUpdate, paths[nid], sorted(both),
                                                node_id=nid)))
    out += by_path(double)
    del_upd_arrays, del_upd_groups = [], []
    for p, base in ch.deleted.items():
        t = their_nodes.get(p)
        if t is None:
            continue
        if base.is_array and (t.id in upd_arrays or t.id in tx_chunks):
            del_upd_arrays.append((p, Conflict(CT.DeleteOfUpdatedArray, p, node_id=t.id)))
        elif not base.is_array and t.id in upd_groups:
            del_upd_groups.append((p, Conflict(CT.DeleteOfUpdatedGroup, p, node_id=t.id)))
    out += by_path(del_upd_arrays) + by_path(del_upd_groups)
    return out


# -------------------------------------------------------------------- rebase
async def rebase_session(session: Session, solver: Any, state: RepoState,
                         assets: AssetManager) -> None:
    """Rebase ``session``'s change set onto the tip of its branch (see module doc)."""
    solver = resolve_solver(solver)
    branch = session.branch
    if session.read_only or branch is None:
        raise SessionStateError("only a writable session on a branch can be rebased",
                                ErrorKind.COMMIT_NOT_ALLOWED)
    info = await state.fetch()
    tip = info.branches.get(branch)
    base = session.base_snapshot.id
    if tip is None or tip == base:
        return
    records = []
    async for rec in state.ancestry(tip, info):
        if rec.id == base:
            break
        records.append(rec)
    else:
        raise SessionStateError(
            f"cannot rebase: snapshot {base} is not an ancestor of the tip of branch "
            f"{branch!r} (was the branch reset?)", ErrorKind.COMMIT_NOT_ALLOWED)
    records.reverse()  # oldest first
    log_ids = [[*(rec.pruned_ancestor_tx_logs or []), rec.id] for rec in records]
    flat = [sid for ids in log_ids for sid in ids]
    results = await asyncio.gather(
        asyncio.gather(*(assets.fetch_transaction_log(sid) for sid in flat)),
        asyncio.gather(*(assets.fetch_snapshot(rec.id) for rec in records)))
    logs = iter(results[0])
    for rec, ids, snap in zip(records, log_ids, results[1], strict=True):
        for _ in ids:
            tx = next(logs)
            conflicts = detect_conflicts(session, snap, tx)
            if not conflicts:
                continue
            saved = session.changes.copy()
            step = RebaseStep(session, str(rec.id), snap, tx, conflicts)
            try:
                remaining = await run_solver(solver, step)
            except BaseException:
                session.restore_changes(saved)
                raise
            if remaining:
                session.restore_changes(saved)
                raise RebaseFailedError(str(rec.id), remaining)
        session.move_base(snap)
