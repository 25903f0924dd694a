"""The repository-state layer: refs, history, config, metadata and the ops log.

Everything above this layer (repository, sessions, rebase, ops) reads and
changes repository-level state only through :class:`RepoState`:

- :meth:`RepoState.fetch` — the current state as a :class:`RepoInfo` value;
- :meth:`RepoState.update` — apply a mutation with optimistic concurrency
  (read, mutate a private copy, conditional write, retry on a lost race);
- :meth:`RepoState.ancestry` — walk a snapshot's parents (cycles are refused);
- :meth:`RepoState.ops_log` — the update records, newest first.

:class:`RepoInfoFileState` keeps it all in the spec-v2 ``repo`` file. A spec-v1
implementation (refs as separate objects, history in the snapshots) sits
beside it behind the same interface.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

from frazil._assets import OVERWRITTEN, REPO_PATH, AssetManager, backup_path, remember_repo_info
from frazil.config import updates_per_file
from frazil.errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    FormatError,
    ReadOnlyError,
)
from frazil.format import codec
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, SnapshotRecord, UpdateRecord
from frazil.storage import ConditionFailedError

__all__ = ["MAX_UPDATE_ATTEMPTS", "RepoInfoFileState", "RepoState", "now_micros",
           "refuse_if_not_online"]

MAX_UPDATE_ATTEMPTS = 100

Mutation = Callable[[RepoInfo], UpdateRecord]


def now_micros() -> int:
    return time.time_ns() // 1000


def copy_info(info: RepoInfo) -> RepoInfo:
    """A copy safe to mutate: containers are copied, records are replaced not mutated."""
    return replace(
        info,
        branches=dict(info.branches),
        tags=dict(info.tags),
        deleted_tags=set(info.deleted_tags),
        snapshots=dict(info.snapshots),
        metadata=copy.deepcopy(info.metadata),
        latest_updates=list(info.latest_updates),
        config=copy.deepcopy(info.config),
    )


def walk_records(info: RepoInfo, sid: ObjectId | None) -> Iterator[SnapshotRecord]:
    """``sid`` and its ancestors, newest first, from ``info``'s snapshot records.

    Raises ``FormatError`` when the parent links form a cycle (corrupt
    history, which a silent stop would hide). The walk ends at a parent
    without a record, as icechunk's does.
    """
    seen: set[ObjectId] = set()
    while sid is not None:
        if sid in seen:
            raise FormatError(f"the snapshot history has a cycle at snapshot {sid}",
                              ErrorKind.REPOSITORY_STATE_CYCLE)
        seen.add(sid)
        rec = info.snapshots.get(sid)
        if rec is None:
            return
        yield rec
        sid = rec.parent_id


# The last ancestry walked by RepoInfoFileState.ancestry_list: (snapshot table, size, tip,
# records). Fetched repo infos are shared and never mutated, so the same table object
# (of the same size) walked from the same tip gives the same records.
_LAST_WALK: list[tuple[dict[ObjectId, SnapshotRecord], int, ObjectId,
                       list[SnapshotRecord]]] = []


def ancestry_records(info: RepoInfo, sid: ObjectId) -> list[SnapshotRecord]:
    """``list(walk_records(info, sid))``, remembered for the last table and tip walked."""
    table = info.snapshots
    last = _LAST_WALK[0] if _LAST_WALK else None
    if last is not None and last[0] is table and last[1] == len(table) and last[2] == sid:
        return list(last[3])
    recs = list(walk_records(info, sid))
    _LAST_WALK[:] = [(table, len(table), sid, recs)]
    return list(recs)


def refuse_if_not_online(info: RepoInfo) -> None:
    """``ReadOnlyError`` (with the recorded reason) unless the repository is online.

    Every repo-info update checks this, except a mutation carrying the
    attribute ``skip_online_check = True`` (setting the status itself).
    """
    st = info.status
    if st.availability != 0:
        state = "read-only" if st.availability == 1 else "offline"
        why = f", reason: {st.limited_availability_reason}" \
            if st.limited_availability_reason else ""
        raise ReadOnlyError(f"the repository status is {state}{why}",
                            ErrorKind.READ_ONLY_REPOSITORY)


#: Writes the objects a new state refers to (see :meth:`RepoState.update`).
Ready = Callable[[], Awaitable[Any]]


class RepoState(ABC):
    """Repository-level state of one repository (see the module docstring)."""

    @abstractmethod
    async def exists(self) -> bool:
        """Whether a repository exists here."""

    @abstractmethod
    async def initialize(self, info: RepoInfo) -> None:
        """Write the first state; ``AlreadyExistsError`` if a repository appeared."""

    @abstractmethod
    async def fetch(self) -> RepoInfo:
        """The current state (treat as immutable)."""

    @abstractmethod
    async def update(self, mutate: Mutation, ready: Ready | None = None) -> RepoInfo:
        """Apply ``mutate`` with optimistic concurrency; returns the new state.

        ``mutate`` edits a private copy and returns the ops-log entry for the
        change; it raises to abort (a branch that moved, a missing ref). It
        may be called several times (once per attempt), so it must not have
        side effects outside its argument. ``ready()`` writes the objects the new
        state refers to (a commit's snapshot, manifests and transaction log): it
        is awaited once, after ``mutate`` first succeeds (an update aborted by
        ``mutate``, such as a commit to a branch that moved, writes nothing),
        before the new state is published.
        """

    @abstractmethod
    def ancestry(self, sid: ObjectId, info: RepoInfo | None = None
                 ) -> AsyncIterator[SnapshotRecord]:
        """``sid`` and its ancestors, newest first (``info``: a state already fetched)."""

    @abstractmethod
    def ops_log(self) -> AsyncIterator[UpdateRecord]:
        """Every update record, newest first."""

    async def ancestry_list(self, sid: ObjectId, info: RepoInfo | None = None
                            ) -> list[SnapshotRecord]:
        """:meth:`ancestry` as a list (implementations may do it in one step)."""
        return [rec async for rec in self.ancestry(sid, info)]


class RepoInfoFileState(RepoState):
    """Spec v2: the whole state in the ``repo`` object, previous versions in ``overwritten/``."""

    def __init__(self, assets: AssetManager) -> None:
        self._assets = assets
        self._storage = assets.storage

    async def exists(self) -> bool:
        return await self._assets.repo_exists()

    async def initialize(self, info: RepoInfo) -> None:
        try:
            data = codec.encode_repo_info(info, self._assets.compression_level)
            await self._storage.put_object_if(REPO_PATH, data, expected=None)
        except ConditionFailedError:
            raise AlreadyExistsError(f"a repository was created concurrently at "
                                     f"{self._storage._label()}",
                                     ErrorKind.REPOSITORY_ALREADY_EXISTS) from None

    async def fetch(self) -> RepoInfo:
        info, _, _ = await self._assets.fetch_repo_info()
        return info

    async def update(self, mutate: Mutation, ready: Ready | None = None) -> RepoInfo:
        # The old file is copied to overwritten/ first; the entry that produced
        # it gets that path (icechunk's layout, read by its ops log).
        delay = 0.005
        for _ in range(MAX_UPDATE_ATTEMPTS):
            info, token, raw = await self._assets.fetch_repo_info()
            if not getattr(mutate, "skip_online_check", False):
                refuse_if_not_online(info)
            new = copy_info(info)
            entry = mutate(new)
            entry.updated_at = now_micros()
            bpath = backup_path()
            # The backup write starts first (sleep(0) lets the task run up to its I/O:
            # remote storages upload it while the new file is encoded, local storage
            # writes it right there); it is in place before the file naming it is published.
            backup = asyncio.ensure_future(
                self._storage.put_object_copy(bpath, raw, source=REPO_PATH, version=token))
            try:
                await asyncio.sleep(0)
                data = self._encode_new(new, entry, bpath, self._assets.compression_level)
            finally:
                await backup
            if ready is not None:  # first attempt: the objects are written now
                await ready()
                ready = None
            try:
                await self._storage.put_object_if(REPO_PATH, data, expected=token)
            except ConditionFailedError:
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
                continue
            remember_repo_info(data, new)  # the next read of these bytes needs no decode
            return new
        raise ConflictError(message="could not update the repo info file: too many concurrent "
                            "updates", kind=ErrorKind.UPDATE_ATTEMPTS_EXHAUSTED)

    @staticmethod
    def _encode_new(new: RepoInfo, entry: UpdateRecord, bpath: str, level: int) -> bytes:
        """Add ``entry`` to ``new``'s ops log (the previous head gets ``bpath``); encode."""
        if new.latest_updates:
            # icechunk records the bare file name (under overwritten/)
            new.latest_updates[0] = replace(new.latest_updates[0],
                                            backup_path=bpath.removeprefix(OVERWRITTEN))
        new.latest_updates.insert(0, entry)
        limit = updates_per_file(new.config)
        if len(new.latest_updates) > limit:
            del new.latest_updates[limit:]
            new.repo_before_updates = bpath.removeprefix(OVERWRITTEN)
        return codec.encode_repo_info(new, level)

    async def ancestry(self, sid: ObjectId, info: RepoInfo | None = None
                       ) -> AsyncIterator[SnapshotRecord]:
        if info is None:
            info = await self.fetch()
        for rec in walk_records(info, sid):
            yield rec

    async def ancestry_list(self, sid: ObjectId, info: RepoInfo | None = None
                            ) -> list[SnapshotRecord]:
        return ancestry_records(info if info is not None else await self.fetch(), sid)

    async def ops_log(self) -> AsyncIterator[UpdateRecord]:
        info = await self.fetch()
        seen: set[tuple[str, int]] = set()
        files: set[str] = set()
        while True:
            for u in info.latest_updates:
                key = (u.kind, u.updated_at)
                if key not in seen:  # consecutive files repeat their boundary entry
                    seen.add(key)
                    yield u
            prev = info.repo_before_updates
            if not prev:
                return
            if prev in files:
                raise FormatError(f"the ops log has a cycle: {prev} is reached twice through "
                                  "repo_before_updates", ErrorKind.REPOSITORY_STATE_CYCLE)
            files.add(prev)
            path = prev if prev.startswith(OVERWRITTEN) else OVERWRITTEN + prev
            data = await self._assets.fetch_object(path, f"repo info backup {prev}")
            info = codec.decode_repo_info(data, prev)
