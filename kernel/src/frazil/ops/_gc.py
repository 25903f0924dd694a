"""Garbage collection: delete objects no ref can reach (icechunk's ``garbage_collect``).

The walk and the rules follow icechunk 2.3, so both libraries delete the same
objects (and report the same :class:`GCSummary` counts) on the same repository:

1. Retained snapshots are every snapshot reachable from a branch or a tag,
   plus every snapshot in the repo info file whose object is not older than
   the cut-off (its storage time: a snapshot written while GC runs, or one
   the listing did not show yet, is kept).
2. Their manifests and the chunks those manifests reference are retained.
3. The dropped snapshots leave the repo info file in one conditional update:
   kept snapshots whose parent is dropped are re-parented over the gap (the
   skipped ids go to ``pruned_ancestor_tx_logs``). If meanwhile a commit landed
   on a dropped snapshot, or a ref moved to one, the whole run starts over.
4. Objects not retained AND stored before the cut-off are deleted, in the
   order snapshots, transaction logs, manifests, chunks (a crash part-way
   leaves only unreachable garbage, never a dangling reference).

Why a commit racing GC never loses a chunk: every object a commit writes is
newer than the cut-off and so is never deleted by this run, provided the
cut-off lies further in the past than the longest commit takes from its first
chunk write to its repo-info update (the grace period: icechunk documents the
same rule; days, not seconds, in production), and the chunks it carries over from its parent
are retained through the parent, which is a branch tip or newer than the
cut-off; a commit whose parent this run drops restarts the run (step 3).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from frazil._assets import CHUNKS, MANIFESTS, SNAPSHOTS, TRANSACTIONS, AssetManager
from frazil._progress import progress_log
from frazil._repr import Fields, Mode, ReprMixin, debug_text
from frazil._state import RepoState, walk_records
from frazil.errors import ConflictError, ErrorKind
from frazil.format.ids import INITIAL_SNAPSHOT_ID, ObjectId
from frazil.format.model import RepoInfo, UpdateRecord
from frazil.ops._expire import datetime_to_micros, reparent_and_prune
from frazil.ops._guard import check_online
from frazil.ops._walk import retained_objects
from frazil.storage import ObjectInfo, Storage

__all__ = ["GCSummary", "Progress", "garbage_collect"]

log = logging.getLogger("frazil.ops")

#: ``progress(phase, done, total)``; ``total`` is ``None`` when unknown.
Progress = Callable[[str, int, "int | None"], None]

_MAX_RESTARTS = 20
_DELETE_BATCH = 1000


@dataclass(frozen=True, slots=True, repr=False)
class GCSummary(ReprMixin):
    """What a garbage collection deleted (icechunk's ``GCSummary``)."""

    bytes_deleted: int = 0
    chunks_deleted: int = 0
    manifests_deleted: int = 0
    snapshots_deleted: int = 0
    attributes_deleted: int = 0
    transaction_logs_deleted: int = 0
    objects_failed_to_delete: int = 0
    throttled_batches: int = 0
    delete_errors: list[str] = field(default_factory=list)
    skipped_phases: list[str] = field(default_factory=list)

    _repr_name = "frazil.ops.GCSummary"

    def _repr_fields(self, mode: Mode) -> Fields:
        return [(k, debug_text(getattr(self, k))) for k in self.__dataclass_fields__]


class _Restart(Exception):
    """The repo info changed under GC in a way that needs a fresh walk."""


def _stamp(info: ObjectInfo) -> int:
    return datetime_to_micros(info.last_modified, "last_modified")


def _name(info: ObjectInfo, prefix: str) -> str:
    return info.path[len(prefix):]


async def _delete(storage: Storage, items: list[ObjectInfo], dry_run: bool,
                  phase: str, progress: Progress | None) -> tuple[int, int, list[str]]:
    """Delete ``items``; returns (objects deleted, bytes deleted, error messages)."""
    total = len(items)
    if progress is not None:
        progress(phase, 0, total)
    if dry_run or not items:
        return total, sum(i.size_bytes for i in items), []
    batches = [items[i:i + _DELETE_BATCH] for i in range(0, total, _DELETE_BATCH)]
    errors: list[str] = []
    done = count = size = 0

    async def one(batch: list[ObjectInfo]) -> None:
        nonlocal done, count, size
        try:
            await storage.delete_objects([i.path for i in batch])
            count += len(batch)
            size += sum(i.size_bytes for i in batch)
        except Exception as e:  # noqa: BLE001 - reported in the summary, retried next run
            if len(errors) < 10 and str(e) not in errors:
                errors.append(str(e))
        done += len(batch)
        if progress is not None:
            progress(phase, done, total)

    await asyncio.gather(*(one(b) for b in batches))
    return count, size, errors


def _drop_from_info(info: RepoInfo, keep: set[ObjectId], drop: set[ObjectId]) -> None:
    """Remove ``drop`` from ``info`` (re-parenting over gaps); extend ``keep`` with new ones."""
    final = {}
    for sid, rec in info.snapshots.items():
        if sid in drop:
            continue
        if sid not in keep:  # committed while GC ran
            if rec.parent_id is not None and rec.parent_id in drop:
                raise _Restart(f"snapshot {sid} was committed on a snapshot being collected")
            keep.add(sid)
        elif rec.parent_id is not None and rec.parent_id in drop:
            parent, pruned = reparent_and_prune(info, rec, keep)
            rec = replace(rec, parent_id=INITIAL_SNAPSHOT_ID if parent is None else parent,
                          pruned_ancestor_tx_logs=pruned)
        final[sid] = rec
    for sid in list(info.tags.values()) + list(info.branches.values()):
        if sid not in final:
            raise _Restart(f"a ref moved to snapshot {sid}, which is being collected")
    info.snapshots = final


async def _one_run(state: RepoState, assets: AssetManager, limit: int, dry_run: bool,
                   max_fetches: int, progress: Progress | None) -> GCSummary:
    storage = assets.storage
    listed_snaps = await storage.list_objects_async(SNAPSHOTS)
    created = {_name(o, SNAPSHOTS): _stamp(o) for o in listed_snaps}
    info = await state.fetch()
    all_snaps = set(info.snapshots)
    roots: list[ObjectId] = list(info.tags.values()) + list(info.branches.values())
    pointed: set[ObjectId] = set()
    for tip in roots:
        for rec in walk_records(info, tip):
            if rec.id in pointed:
                break
            pointed.add(rec.id)
    new = {sid for sid in all_snaps if created.get(str(sid), limit) >= limit}
    keep_snaps = pointed | new
    log.info("garbage_collect: walking %d retained snapshots", len(keep_snaps))
    keep_manifests, keep_chunks = await retained_objects(assets, keep_snaps, max_fetches,
                                                         progress)
    log.info("garbage_collect: retained %d snapshots, %d manifests, %d chunks",
             len(keep_snaps), len(keep_manifests), len(keep_chunks))
    drop = all_snaps - keep_snaps
    written = info
    if not dry_run:
        def mutate(cur: RepoInfo) -> UpdateRecord:
            check_online(cur, "garbage collect")
            _drop_from_info(cur, keep_snaps, drop)
            return UpdateRecord("GCRan", {}, 0)

        written = await state.update(mutate)
    keep_snap_names = {str(s) for s in keep_snaps}
    keep_tx = set(keep_snap_names)
    for rec in written.snapshots.values():
        keep_tx.update(str(p) for p in rec.pruned_ancestor_tx_logs or ())

    def garbage(listed: Iterable[ObjectInfo], prefix: str, keep: set[str]) -> list[ObjectInfo]:
        return [o for o in listed if _stamp(o) < limit and _name(o, prefix) not in keep]

    out: dict[str, Any] = {"bytes_deleted": 0}
    errors: list[str] = []
    phases = [("snapshots", SNAPSHOTS, keep_snap_names),
              ("transaction_logs", TRANSACTIONS, keep_tx),
              ("manifests", MANIFESTS, keep_manifests),
              ("chunks", CHUNKS, keep_chunks)]
    skipped: list[str] = []
    failed = 0
    for phase, prefix, keep in phases:
        if failed:  # a later phase could leave references dangling: next run
            skipped.append(phase)
            continue
        listed = listed_snaps if prefix == SNAPSHOTS else await storage.list_objects_async(prefix)
        items = garbage(listed, prefix, keep)
        n, size, errs = await _delete(storage, items, dry_run, phase, progress)
        failed += len(items) - n
        errors.extend(e for e in errs if e not in errors)
        out[f"{phase}_deleted"] = n
        out["bytes_deleted"] += size
        log.info("garbage_collect: %s: %d deleted%s", phase, n, " (dry run)" if dry_run else "")
    return GCSummary(**out, objects_failed_to_delete=failed, delete_errors=errors[:10],
                     skipped_phases=skipped)


async def garbage_collect(state: RepoState, assets: AssetManager,
                          delete_object_older_than: _dt.datetime, *, dry_run: bool = False,
                          max_concurrent_manifest_fetches: int = 500,
                          progress: Progress | None = None) -> GCSummary:
    """Delete every object no ref reaches that was stored before ``delete_object_older_than``.

    ``progress``, if given, is called as ``progress(phase, done, total)``;
    the ``frazil.ops`` logger reports the same at INFO level (throttled, see
    :mod:`frazil._progress`).
    """
    limit = datetime_to_micros(delete_object_older_than, "delete_object_older_than")
    check_online(await state.fetch(), "garbage collect", assets.storage.can_write)
    progress = progress_log("garbage_collect", progress, "frazil.ops.gc")
    for attempt in range(_MAX_RESTARTS):
        try:
            return await _one_run(state, assets, limit, dry_run,
                                  max(1, int(max_concurrent_manifest_fetches)), progress)
        except _Restart as e:
            log.info("garbage_collect: restarting (%s), attempt %d", e, attempt + 2)
            await asyncio.sleep(0.01 * (attempt + 1))
    raise ConflictError(message=f"garbage collection restarted {_MAX_RESTARTS} times: the "
                        "repository keeps changing under it (commits on snapshots being "
                        "collected); run it again later", kind=ErrorKind.REPO_INFO_UPDATED)
