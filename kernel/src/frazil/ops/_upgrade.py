"""Upgrading a spec-v1 repository to spec v2 (icechunk's ``migrate_1_to_2``).

Metadata only: the v2 ``repo`` file is built from the v1 refs, snapshot
parents and ``config.yaml``; no snapshot, manifest or chunk is rewritten (v1
snapshot files stay and are read by their header). The ``repo`` file is the
commit point: it is created only if absent, and until it exists the
repository is still a valid v1 one, so an interrupted upgrade is simply run
again. Once it exists the v1 refs and ``config.yaml`` are deleted (if asked);
a re-run on an upgraded repository with v1 files left finishes that cleanup.

The ops log of the upgraded repository is reconstructed as icechunk does:
the repository's creation, one commit per snapshot (per branch, first branch
wins), branch and tag creations 1 ms after their tip, deleted tags created
and deleted 1 and 2 ms after their snapshot, made strictly increasing, then
the ``RepoMigrated`` entry on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from frazil._assets import REPO_PATH, AssetManager
from frazil._progress import progress_log
from frazil._state import RepoInfoFileState, now_micros, walk_records
from frazil._state_v1 import CONFIG_PATH, REFS, RefsState, tag_path
from frazil.config import RepositoryConfig
from frazil.errors import AlreadyExistsError, ErrorKind, SessionStateError
from frazil.format import codec
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, RepoStatusRecord, SnapshotRecord, UpdateRecord
from frazil.storage import ConditionFailedError, ObjectNotFoundError, Storage

__all__ = ["UpgradePlan", "plan_upgrade", "upgrade_v1_to_v2"]

_OFFSET = 1000  # the 1 ms between a snapshot and the synthetic ref events after it


@dataclass(slots=True)
class UpgradePlan:
    """What an upgrade writes (``info``) and which v1 files it may delete."""

    info: RepoInfo
    v1_files: list[str]


def _not_v1(version: int) -> SessionStateError:
    return SessionStateError(
        f"invalid repository version ({version}.0), this function can only migrate "
        "repositories that use version 1.0 of the specification, to repositories with spec "
        "version 2.0", ErrorKind.INVALID_REPOSITORY_MIGRATION)


def _ops_log(info: RepoInfo, deleted: dict[str, ObjectId]) -> list[UpdateRecord]:
    def chain(tip: ObjectId) -> list[SnapshotRecord]:
        return list(walk_records(info, tip))  # tip first

    main = chain(info.branches["main"])
    if not main:
        return []
    root_time = main[-1].flushed_at
    times = {s.id: s.flushed_at for s in info.snapshots.values()}
    entries: list[tuple[UpdateRecord, int]] = [(UpdateRecord("RepoInitialized", {}, 0), root_time)]
    seen = {s.id for s in main}
    for s in reversed(main[:-1]):
        entries.append((UpdateRecord("NewCommit", {"branch": "main", "new_snap_id": s.id}, 0),
                        s.flushed_at))
    for name in sorted(n for n in info.branches if n != "main"):
        anc = chain(info.branches[name])
        tip_time = anc[0].flushed_at if anc else root_time
        entries.append((UpdateRecord("BranchCreated", {"name": name}, 0), tip_time + _OFFSET))
        for s in reversed(anc):
            if s.id not in seen:
                seen.add(s.id)
                entries.append((UpdateRecord("NewCommit", {"branch": name, "new_snap_id": s.id},
                                             0), s.flushed_at))
    for name in sorted(info.tags):
        t = times.get(info.tags[name], root_time)
        entries.append((UpdateRecord("TagCreated", {"name": name}, 0), t + _OFFSET))
    for name in sorted(deleted):
        t = times.get(deleted[name], root_time)
        entries.append((UpdateRecord("TagCreated", {"name": name}, 0), t + _OFFSET))
        entries.append((UpdateRecord("TagDeleted", {"name": name,
                                                    "previous_snap_id": deleted[name]}, 0),
                        t + 2 * _OFFSET))
    entries.sort(key=lambda e: e[1])  # stable, as icechunk's sort
    out: list[UpdateRecord] = []
    prev = None
    for rec, t in entries:
        if prev is not None and t <= prev:
            t = prev + 1
        rec.updated_at = prev = t
        out.append(rec)
    out.reverse()
    return out


async def plan_upgrade(storage: Storage) -> UpgradePlan:
    """The v2 repo info an upgrade of the v1 repository at ``storage`` would write."""
    state = RefsState(AssetManager(storage, 1))
    v1 = await state.fetch()
    listed = [o.path for o in await storage.list_objects_async(REFS)]
    deleted: dict[str, ObjectId] = {}
    for name in sorted(v1.deleted_tags):
        try:
            data = await storage.get_object(tag_path(name))
            deleted[name] = ObjectId.parse(json.loads(data)["snapshot"])
        except (ObjectNotFoundError, ValueError, KeyError, TypeError):
            continue  # icechunk skips the ops-log entries of such a tag too
    # the snapshots reachable from a branch or a live tag (dangling ones are left out)
    reachable: dict[ObjectId, SnapshotRecord] = {}
    for tip in [*v1.branches.values(), *v1.tags.values()]:
        for rec in walk_records(v1, tip):
            if rec.id in reachable:
                break
            reachable[rec.id] = rec
    v1.snapshots = reachable
    log = _ops_log(v1, deleted)
    root = list(walk_records(v1, v1.branches["main"]))[-1]
    migrated = UpdateRecord("RepoMigrated", {"from_version": 1, "to_version": 2}, now_micros())
    config = v1.config
    if config is not None:  # check it converts, as the v2 reader will
        RepositoryConfig._from_dict(config)
    info = RepoInfo(
        spec_version=2, branches=dict(v1.branches), tags=dict(v1.tags),
        deleted_tags=set(v1.deleted_tags), snapshots=reachable,
        status=RepoStatusRecord(0, root.flushed_at, None), metadata={},
        latest_updates=[migrated, *log], config=config,
    )
    extra = [CONFIG_PATH] if await storage.exists(CONFIG_PATH) else []
    return UpgradePlan(info, sorted(listed) + extra)


async def upgrade_v1_to_v2(storage: Storage, *, dry_run: bool,
                           delete_unused_v1_files: bool = True) -> UpgradePlan | None:
    """Upgrade the repository at ``storage``; returns the plan (``None``: nothing to write).

    Raises ``SessionStateError`` (``INVALID_REPOSITORY_MIGRATION``) for a
    repository that is not v1 (unless it is an upgraded one with v1 files
    left, whose cleanup is finished instead).
    """
    v2_state = RepoInfoFileState(AssetManager(storage))
    if await v2_state.exists():
        info = await v2_state.fetch()
        leftovers = [o.path for o in await storage.list_objects_async(REFS)]
        if await storage.exists(CONFIG_PATH):
            leftovers.append(CONFIG_PATH)
        was_migrated = any(u.kind == "RepoMigrated" for u in info.latest_updates)
        if not (was_migrated and leftovers):
            raise _not_v1(info.spec_version)
        if not dry_run and delete_unused_v1_files:
            await storage.delete_objects(leftovers)
        return None
    if not await RefsState(AssetManager(storage, 1)).exists():
        raise _not_v1(0)
    if not storage.can_write:
        raise SessionStateError("the storage instance used to initialize this repo is "
                                "read-only, the migration process needs to make changes in "
                                "object store", ErrorKind.READ_ONLY_STORE)
    report = progress_log("upgrade", None, "frazil.ops.upgrade")
    report("plan", 0, None)
    plan = await plan_upgrade(storage)
    report("plan", len(plan.info.snapshots), len(plan.info.snapshots))
    if dry_run:
        return plan
    try:
        await storage.put_object_if(REPO_PATH, codec.encode_repo_info(plan.info), expected=None)
    except ConditionFailedError:
        raise AlreadyExistsError("the repository was upgraded concurrently",
                                 ErrorKind.REPOSITORY_ALREADY_EXISTS) from None
    if delete_unused_v1_files:  # refs first, config.yaml last, as icechunk
        report("delete v1 files", 0, len(plan.v1_files))
        await storage.delete_objects([p for p in plan.v1_files if p != CONFIG_PATH])
        await storage.delete_objects([p for p in plan.v1_files if p == CONFIG_PATH])
        report("delete v1 files", len(plan.v1_files), len(plan.v1_files))
    return plan
