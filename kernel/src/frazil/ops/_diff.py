"""Diffs between two snapshots (icechunk's ``Repository.diff``).

The diff from ``from`` to ``to`` is the union of the transaction logs of
every snapshot after ``from`` up to ``to`` (including the logs of ancestors
collapsed by expiration, ``pruned_ancestor_tx_logs``), with node ids named
by the paths they have in ``to`` (else in ``from``). ``from`` must be an
ancestor of ``to``, as in icechunk.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from frazil._assets import AssetManager
from frazil._state import RepoState
from frazil.errors import ErrorKind, InvalidInputError, SnapshotNotFoundError
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import RepoInfo, TransactionLog
from frazil.snapshots import Diff

__all__ = ["diff_snapshots", "diff_from_logs"]

log = logging.getLogger("frazil.ops")


def diff_from_logs(logs: list[TransactionLog], paths: dict[NodeId, str]) -> Diff:
    """Union of ``logs`` (in order) as a path-level ``Diff``; unnamed nodes are left out."""
    sets: dict[str, set[NodeId]] = {k: set() for k in (
        "new_groups", "new_arrays", "deleted_groups", "deleted_arrays", "updated_groups",
        "updated_arrays")}
    chunks: dict[NodeId, list[np.ndarray]] = {}
    moves: list[tuple[str, str]] = []
    for tx in logs:
        for k, s in sets.items():
            s.update(getattr(tx, k))
        for nid, coords in tx.updated_chunks.items():
            chunks.setdefault(nid, []).append(np.asarray(coords, np.uint32))
        moves.extend((m.from_path, m.to_path) for m in tx.moved_nodes)
    d = Diff(**{k: {paths[n] for n in s if n in paths} for k, s in sets.items()})
    for nid, parts in chunks.items():
        if nid in paths:
            rows = np.unique(np.concatenate([p.reshape(len(p), -1) for p in parts]), axis=0)
            d.updated_chunks[paths[nid]] = rows.tolist()
    d.updated_chunks = dict(sorted(d.updated_chunks.items()))
    d.moved_nodes = moves
    return d


async def diff_snapshots(state: RepoState, assets: AssetManager, info: RepoInfo,
                         from_sid: ObjectId, to_sid: ObjectId) -> Diff:
    """What changed from snapshot ``from_sid`` (an ancestor) to ``to_sid``."""
    chain = []
    found = False
    async for rec in state.ancestry(to_sid, info):
        if rec.id == from_sid:
            found = True
            break
        chain.append(rec)
    if not found or not chain:
        raise InvalidInputError(f"`to` snapshot ancestry doesn't include `from` ({from_sid} "
                                f"is not a proper ancestor of {to_sid})",
                                ErrorKind.INVALID_SNAPSHOT_ID)
    wanted: list[tuple[ObjectId, bool]] = []
    for rec in chain:
        wanted.extend((p, True) for p in rec.pruned_ancestor_tx_logs or ())
        wanted.append((rec.id, False))

    async def fetch(sid: ObjectId, pruned: bool) -> TransactionLog | None:
        try:
            return await assets.fetch_transaction_log(sid)
        except SnapshotNotFoundError:
            if not pruned:
                raise
            log.warning("transaction log of expired ancestor %s is missing: the diff is "
                        "incomplete", sid)
            return None

    got = await asyncio.gather(*(fetch(s, p) for s, p in wanted))
    before, after = await asyncio.gather(assets.fetch_snapshot(from_sid),
                                         assets.fetch_snapshot(chain[0].id))
    paths = {n.id: n.path for n in before.nodes}
    paths.update((n.id, n.path) for n in after.nodes)
    return diff_from_logs([t for t in got if t is not None], paths)
