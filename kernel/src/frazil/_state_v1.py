"""Spec-v1 repository state: refs as separate objects, history in the snapshots.

Layout (icechunk 1.x, still read and written by icechunk 2):

- ``refs/branch.<name>/ref.json`` — ``{"snapshot": "<id>"}``, moved with a
  conditional write on the version read (a lost race re-reads and retries,
  so concurrent commits are as safe as on spec v2);
- ``refs/tag.<name>/ref.json`` — created only if absent (tags are immutable);
- ``refs/tag.<name>/ref.json.deleted`` — an empty marker, created only if
  absent: a deleted tag keeps its ref file and its name is never reused;
- ``config.yaml`` — the persisted configuration, when there is one;
- each snapshot names its parent; there is no ops log and no repository
  metadata (icechunk refuses both on v1 and so does frazil).

:class:`RefsState` presents this as a :class:`~frazil._state.RepoState`: the
:class:`RepoInfo` it fetches has every snapshot found under ``snapshots/``
(snapshot records never change, so each file is read once per state).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

from frazil import _config_yaml
from frazil._assets import SNAPSHOTS, AssetManager
from frazil._state import (
    MAX_UPDATE_ATTEMPTS,
    Mutation,
    Ready,
    RepoState,
    copy_info,
    walk_records,
)
from frazil.errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    FormatError,
    InvalidInputError,
    RefNotFoundError,
    RepositoryNotFoundError,
)
from frazil.format import _v1
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, RepoStatusRecord, SnapshotRecord, UpdateRecord
from frazil.storage import ConditionFailedError, ObjectNotFoundError

__all__ = ["CONFIG_PATH", "REFS", "RefsState", "V1_MAIN_REF", "branch_path", "tag_path"]

REFS = "refs/"
CONFIG_PATH = "config.yaml"
V1_MAIN_REF = "refs/branch.main/ref.json"
NEEDS_V2 = ("repository version error, this operation requires a repository that is at "
            "least version 2.0, please upgrade your on-disk format before executing this "
            "operation")


def branch_path(name: str) -> str:
    return f"{REFS}branch.{name}/ref.json"


def tag_path(name: str) -> str:
    return f"{REFS}tag.{name}/ref.json"


def _ref_json(sid: ObjectId) -> bytes:
    return json.dumps({"snapshot": str(sid)}, separators=(",", ":")).encode()


def _parse_ref(data: bytes, path: str) -> ObjectId:
    try:
        return ObjectId.parse(json.loads(data)["snapshot"])
    except Exception:
        raise FormatError(f"malformed ref file {path}", ErrorKind.DESERIALIZATION) from None


def needs_v2_error() -> FormatError:
    return FormatError(NEEDS_V2, ErrorKind.UNSUPPORTED_SPEC_VERSION)


class RefsState(RepoState):
    """Spec v1: refs under ``refs/``, parents in the snapshot files."""

    def __init__(self, assets: AssetManager) -> None:
        self._assets = assets
        self._storage = assets.storage
        self._records: dict[ObjectId, SnapshotRecord] = {}

    async def exists(self) -> bool:
        return await self._storage.exists(V1_MAIN_REF)

    async def initialize(self, info: RepoInfo) -> None:
        if info.config is not None:
            await self._storage.put_object(CONFIG_PATH, _config_yaml.dumps(info.config))
        try:
            await self._storage.put_object_if(V1_MAIN_REF, _ref_json(info.branches["main"]),
                                              expected=None)
        except ConditionFailedError:
            raise AlreadyExistsError(f"a repository was created concurrently at "
                                     f"{self._storage._label()}",
                                     ErrorKind.REPOSITORY_ALREADY_EXISTS) from None

    # ---------------------------------------------------------------- reading
    async def _refs(self) -> tuple[dict[str, tuple[ObjectId, Any]], dict[str, ObjectId], set[str]]:
        """Branches (with version tokens), live tags and deleted tag names."""
        listed = [o.path[len(REFS):] for o in await self._storage.list_objects_async(REFS)]
        branch_names, tag_names, deleted = set(), set(), set()
        for key in listed:
            ref, _, leaf = key.partition("/")
            if ref.startswith("branch.") and leaf == "ref.json":
                branch_names.add(ref[len("branch."):])
            elif ref.startswith("tag.") and leaf == "ref.json":
                tag_names.add(ref[len("tag."):])
            elif ref.startswith("tag.") and leaf == "ref.json.deleted":
                deleted.add(ref[len("tag."):])

        async def branch(name: str) -> tuple[str, tuple[ObjectId, Any] | None]:
            path = branch_path(name)
            try:
                data, token = await self._storage.get_object_versioned(path)
            except ObjectNotFoundError:  # deleted since the listing
                return name, None
            return name, (_parse_ref(data, path), token)

        async def tag(name: str) -> tuple[str, ObjectId | None]:
            path = tag_path(name)
            try:
                return name, _parse_ref(await self._storage.get_object(path), path)
            except ObjectNotFoundError:
                return name, None

        b, t = await asyncio.gather(asyncio.gather(*(branch(n) for n in sorted(branch_names))),
                                    asyncio.gather(*(tag(n) for n in sorted(tag_names - deleted))))
        branches = {n: v for n, v in b if v is not None}
        if "main" not in branches:
            raise RepositoryNotFoundError(f"no Icechunk repository at {self._storage._label()} "
                                          "(no 'repo' object and no main branch ref)")
        return branches, {n: v for n, v in t if v is not None}, deleted

    async def _record(self, sid: ObjectId) -> SnapshotRecord:
        rec = self._records.get(sid)
        if rec is None:  # the history fields only: the nodes are not decoded
            path = SNAPSHOTS + str(sid)
            data = await self._assets.fetch_object(path, f"snapshot {sid}")
            rid, parent, flushed_at, message, md = _v1.decode_snapshot_summary(data, path)
            if rid != sid:
                raise FormatError(f"snapshot file {path} holds snapshot {rid}",
                                  ErrorKind.INVALID_FILE_FORMAT)
            rec = SnapshotRecord(sid, parent, flushed_at, message, md)
            self._records[sid] = rec
        return rec

    async def _snapshot_records(self, tips: list[ObjectId]) -> dict[ObjectId, SnapshotRecord]:
        ids = set(tips)
        for o in await self._storage.list_objects_async(SNAPSHOTS):
            try:
                ids.add(ObjectId.parse(o.path[len(SNAPSHOTS):]))
            except Exception:  # a stray object, not a snapshot
                continue
        recs = await asyncio.gather(*(self._record(i) for i in sorted(ids, key=str)))
        return {r.id: r for r in recs}

    async def fetch_config(self) -> dict[str, Any] | None:
        try:
            return _config_yaml.loads(await self._storage.get_object(CONFIG_PATH))
        except ObjectNotFoundError:
            return None

    async def _fetch(self) -> tuple[RepoInfo, dict[str, Any]]:
        branches, tags, deleted = await self._refs()
        tips = [sid for sid, _ in branches.values()] + list(tags.values())
        snaps, config = await asyncio.gather(self._snapshot_records(tips), self.fetch_config())
        info = RepoInfo(
            spec_version=1,
            branches={n: sid for n, (sid, _) in branches.items()},
            tags=tags, deleted_tags=deleted, snapshots=snaps,
            status=RepoStatusRecord(0, 0, None), metadata={}, latest_updates=[],
            config=config,
        )
        return info, {n: tok for n, (_, tok) in branches.items()}

    async def fetch(self) -> RepoInfo:
        return (await self._fetch())[0]

    # ---------------------------------------------------------------- writing
    async def _apply(self, old: RepoInfo, new: RepoInfo, tokens: dict[str, Any]) -> None:
        if new.metadata != old.metadata or new.status != old.status:
            raise needs_v2_error()
        added = [*new.branches.keys() - old.branches.keys(), *new.tags.keys() - old.tags.keys()]
        for name in added:
            if "/" in name:  # a ref is a folder under refs/ in v1
                raise InvalidInputError(f"invalid ref name `{name}`: spec version 1 ref names "
                                        "cannot contain '/'", ErrorKind.INVALID_REF_NAME)
        for name, sid in new.tags.items():
            if old.tags.get(name) == sid:
                continue
            if name in old.tags:
                raise AlreadyExistsError(f"tag already exists, tags are immutable: `{name}`",
                                         ErrorKind.TAG_ALREADY_EXISTS)
            try:
                await self._storage.put_object_if(tag_path(name), _ref_json(sid), expected=None)
            except ConditionFailedError:
                raise AlreadyExistsError(f"tag already exists, tags are immutable: `{name}`",
                                         ErrorKind.TAG_ALREADY_EXISTS) from None
        for name in old.tags.keys() - new.tags.keys():
            try:
                await self._storage.put_object_if(tag_path(name) + ".deleted", b"",
                                                  expected=None)
            except ConditionFailedError:
                raise RefNotFoundError(f"ref not found `{name}`",
                                       ErrorKind.REF_NOT_FOUND) from None
        if new.config != old.config:
            await self._storage.put_object(CONFIG_PATH, _config_yaml.dumps(new.config))
        # branch moves last: a lost race raises ConditionFailedError and is retried
        for name, sid in new.branches.items():
            if old.branches.get(name) != sid:
                await self._storage.put_object_if(branch_path(name), _ref_json(sid),
                                                  expected=tokens.get(name))
        gone = old.branches.keys() - new.branches.keys()
        if gone:
            await self._storage.delete_objects([branch_path(n) for n in sorted(gone)])
        self._records.update(new.snapshots)

    async def update(self, mutate: Mutation, ready: Ready | None = None) -> RepoInfo:
        delay = 0.005
        for _ in range(MAX_UPDATE_ATTEMPTS):
            info, tokens = await self._fetch()
            new = copy_info(info)
            mutate(new)
            if ready is not None:
                await ready()
                ready = None
            try:
                await self._apply(info, new, tokens)
                return new
            except ConditionFailedError:
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
        raise ConflictError(message="could not update a branch ref: too many concurrent "
                            "updates", kind=ErrorKind.UPDATE_ATTEMPTS_EXHAUSTED)

    async def ancestry(self, sid: ObjectId, info: RepoInfo | None = None
                       ) -> AsyncIterator[SnapshotRecord]:
        if info is None:
            info = await self.fetch()
        for rec in walk_records(info, sid):
            yield rec

    async def ops_log(self) -> AsyncIterator[UpdateRecord]:
        raise needs_v2_error()
        yield  # pragma: no cover - makes this an async generator
