"""Snapshot expiration: drop old snapshots from the history (icechunk's ``expire_snapshots``).

Expiration edits only the repo info file. Snapshots written before the
cut-off leave the history; kept snapshots whose parent left are re-parented
to the root of their history, with the ids of the skipped ancestors recorded
in ``pruned_ancestor_tx_logs`` (so their transaction logs survive garbage
collection and diffs across the gap stay complete). Object files are only
deleted later, by :func:`frazil.ops.garbage_collect`.

The rules follow icechunk 2.3 exactly, so both libraries expire the same
snapshots from the same repository:

- root snapshots (no parent) never expire;
- the tip of ``main`` never expires; other branch tips, and tag targets, are
  kept unless ``delete_expired_branches`` / ``delete_expired_tags``;
- with those flags, refs whose target is older than the cut-off are deleted
  (never ``main``; deleted tag names are retired as for ``delete_tag``).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import replace

from frazil._progress import Progress, progress_log
from frazil._state import RepoState, copy_info, walk_records
from frazil.errors import InvalidInputError
from frazil.format.ids import INITIAL_SNAPSHOT_ID, ObjectId
from frazil.format.model import RepoInfo, SnapshotRecord, UpdateRecord
from frazil.ops._guard import check_online

__all__ = ["datetime_to_micros", "expire_snapshots", "plan_expiry", "reparent_and_prune"]

log = logging.getLogger("frazil.ops")


def datetime_to_micros(when: _dt.datetime, what: str) -> int:
    """Microseconds since the epoch of a timezone-aware datetime."""
    if not isinstance(when, _dt.datetime):
        raise InvalidInputError(f"{what} must be a datetime.datetime, not {type(when).__name__}")
    if when.tzinfo is None:  # as icechunk: a naive time is ambiguous
        raise TypeError(f"expected a datetime with non-None tzinfo for {what}")
    delta = when - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def reparent_and_prune(info: RepoInfo, rec: SnapshotRecord, keep: set[ObjectId] | None
                       ) -> tuple[ObjectId | None, list[ObjectId]]:
    """Collapse ``rec``'s ancestors up to the first kept one (``keep``; ``None``: a root).

    Returns the new parent (``None`` when no ancestor qualifies) and the ids
    whose transaction logs the collapsed run carried, oldest first: each
    collapsed ancestor's own pruned list, then its id; ``rec``'s own pruned
    list last.
    """
    collapsed: list[SnapshotRecord] = []
    new_parent: ObjectId | None = None
    walk = walk_records(info, rec.id)
    next(walk)
    for anc in walk:
        boundary = anc.parent_id is None if keep is None else anc.id in keep
        if boundary:
            new_parent = anc.id
            break
        collapsed.append(anc)
    pruned: list[ObjectId] = []
    for anc in reversed(collapsed):
        pruned.extend(anc.pruned_ancestor_tx_logs or ())
        pruned.append(anc.id)
    pruned.extend(rec.pruned_ancestor_tx_logs or ())
    return new_parent, pruned


def _expire(info: RepoInfo, limit: int, delete_branches: bool, delete_tags: bool
            ) -> tuple[set[ObjectId], set[str], set[str]]:
    """Apply expiration to ``info`` in place; returns (released, deleted branches, tags)."""
    root_of: dict[ObjectId, ObjectId] = {}
    for tip in list(info.tags.values()) + list(info.branches.values()):
        chain = list(walk_records(info, tip))
        root = INITIAL_SNAPSHOT_ID
        if chain and chain[-1].parent_id is None:
            root = chain[-1].id
        for r in chain:
            if r.parent_id is not None:
                root_of.setdefault(r.id, root)
    tag_tips = set(info.tags.values())
    branch_tips = set(info.branches.values())
    main_tip = info.branches.get("main")
    expired = {r.id for r in info.snapshots.values()
               if r.flushed_at < limit and r.parent_id is not None}
    released = {
        sid for sid in expired
        if not ((not delete_tags and sid in tag_tips)
                or ((not delete_branches or sid == main_tip) and sid in branch_tips))
    }
    new_snaps: dict[ObjectId, SnapshotRecord] = {}
    for sid, rec in info.snapshots.items():
        if sid in released:
            continue
        if rec.parent_id is not None and rec.parent_id in released:
            _, pruned = reparent_and_prune(info, rec, None)
            rec = replace(rec, parent_id=root_of.get(sid, INITIAL_SNAPSHOT_ID),
                          pruned_ancestor_tx_logs=pruned)
        new_snaps[sid] = rec
    gone_tags = {t for t, sid in info.tags.items() if delete_tags and sid in expired}
    gone_branches = {b for b, sid in info.branches.items()
                     if delete_branches and b != "main" and sid in expired}
    info.snapshots = new_snaps
    for t in gone_tags:
        del info.tags[t]
        info.deleted_tags.add(t)
    for b in gone_branches:
        del info.branches[b]
    return released, gone_branches, gone_tags


async def expire_snapshots(state: RepoState, older_than: _dt.datetime, *,
                           delete_expired_branches: bool = False,
                           delete_expired_tags: bool = False,
                           can_write: bool = True,
                           progress: Progress | None = None) -> set[str]:
    """Expire the snapshots written before ``older_than``; returns the released ids.

    One optimistic update of the repo info file: a concurrent change makes
    it recompute from the new state, so nothing committed meanwhile is lost.
    ``progress("expire snapshots", done, total)`` counts the snapshot records
    examined (also logged on ``frazil.ops``).
    """
    limit = datetime_to_micros(older_than, "older_than")
    first = await state.fetch()
    check_online(first, "expire snapshots", can_write)
    report = progress_log("expire_snapshots", progress, "frazil.ops.gc")
    report("expire snapshots", 0, len(first.snapshots))
    released: set[ObjectId] = set()
    examined = 0

    def mutate(info: RepoInfo) -> UpdateRecord:
        check_online(info, "expire snapshots", can_write)
        nonlocal examined
        examined = len(info.snapshots)
        rel, branches, tags = _expire(info, limit, delete_expired_branches,
                                      delete_expired_tags)
        released.clear()
        released.update(rel)
        log.info("expire_snapshots: releasing %d snapshots, deleting branches %s, tags %s",
                 len(rel), sorted(branches), sorted(tags))
        return UpdateRecord("ExpirationRan", {}, 0)

    await state.update(mutate)
    report("expire snapshots", examined, examined)
    return {str(s) for s in released}


async def plan_expiry(state: RepoState, older_than: _dt.datetime, *,
                      delete_expired_branches: bool = False,
                      delete_expired_tags: bool = False
                      ) -> tuple[set[str], set[str], set[str]]:
    """What :func:`expire_snapshots` would do now, writing nothing.

    Returns the snapshot ids it would release and the branches and tags it
    would delete.
    """
    limit = datetime_to_micros(older_than, "older_than")
    info = copy_info(await state.fetch())
    released, branches, tags = _expire(info, limit, delete_expired_branches,
                                       delete_expired_tags)
    return {str(s) for s in released}, branches, tags
