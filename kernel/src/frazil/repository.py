"""``Repository``: refs, history, configuration and sessions (icechunk's API).

Every mutation of the repo info file is optimistic: read it, apply the change
in memory, back up the old file under ``overwritten/``, then one conditional
write; a lost race re-reads and retries, a real conflict raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as _dt
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from frazil import _refs
from frazil._assets import REPO_PATH, AssetManager, backup_path
from frazil._errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    InvalidInputError,
    RefNotFoundError,
    SessionStateError,
    SnapshotNotFoundError,
)
from frazil._sync import sync
from frazil.config import RepositoryConfig
from frazil.format import codec
from frazil.format.ids import INITIAL_SNAPSHOT_ID, ObjectId
from frazil.format.model import (
    RepoInfo,
    RepoStatusRecord,
    Snapshot,
    SnapshotRecord,
    TransactionLog,
    UpdateRecord,
)
from frazil.snapshots import SnapshotInfo, Update, micros_to_datetime
from frazil.storage import ConditionFailedError, Storage

if TYPE_CHECKING:
    from frazil.split import ManifestSplitPolicy

__all__ = ["Repository"]

INITIAL_MESSAGE = "Repository initialized"
# icechunk marks the first snapshot in its metadata (snapshot file and repo info)
_ROOT_MD = {"__icechunk": {"is_root": True}}
_MAX_UPDATE_ATTEMPTS = 100


def now_micros() -> int:
    return time.time_ns() // 1000


def _info_to_public(rec: SnapshotRecord) -> SnapshotInfo:
    return SnapshotInfo(
        id=str(rec.id),
        parent_id=None if rec.parent_id is None else str(rec.parent_id),
        written_at=micros_to_datetime(rec.flushed_at),
        message=rec.message,
        metadata=copy.deepcopy(rec.metadata),
    )


def _copy_info(info: RepoInfo) -> RepoInfo:
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


class Repository:
    """A versioned Zarr repository on a ``Storage`` (icechunk's ``Repository``)."""

    def __init__(self, storage: Storage, config: RepositoryConfig,
                 authorize_virtual_chunk_access: dict[str, Any] | None = None) -> None:
        self._storage = storage
        self._assets = AssetManager(storage)
        self._config = config
        self._authorized = dict(authorize_virtual_chunk_access or {})
        self._default_commit_metadata: dict[str, Any] = {}
        self._manifest_split_policy: ManifestSplitPolicy | None = None
        # virtual chunk readers of this handle, by authorized container prefix
        self._resolvers: dict[str, Any] = {}
        self._coalescers: dict[str, Any] = {}

    # ================================================================ open
    @classmethod
    async def create_async(
        cls,
        storage: Storage,
        config: RepositoryConfig | None = None,
        authorize_virtual_chunk_access: dict[str, Any] | None = None,
        spec_version: int | None = None,
        check_clean_root: bool = True,
        attribution: Any = None,
    ) -> Repository:
        """Create a new repository; see :meth:`create`."""
        if spec_version not in (None, 2) and int(spec_version) != 2:
            raise InvalidInputError(f"frazil writes spec version 2 only, not {spec_version}",
                                    ErrorKind.UNSUPPORTED_SPEC_VERSION)
        storage.check_can_create_repository()
        assets = AssetManager(storage)
        if await assets.repo_exists():
            raise AlreadyExistsError(f"a repository already exists at {storage!r}",
                                     "repository-already-exists")
        if check_clean_root and await storage.list_objects(""):
            raise InvalidInputError("repositories can only be created in clean prefixes: "
                                    f"{storage!r} is not empty", "parent-directory-not-clean")
        t = now_micros()
        # like icechunk, the first snapshot is empty: the root group is written by the user
        snap = Snapshot(id=INITIAL_SNAPSHOT_ID, nodes=[], flushed_at=t,
                        message=INITIAL_MESSAGE, metadata=copy.deepcopy(_ROOT_MD),
                        manifest_files=[])
        await asyncio.gather(assets.write_snapshot(snap),
                             assets.write_transaction_log(TransactionLog(id=INITIAL_SNAPSHOT_ID)))
        cfg = config if config is not None else RepositoryConfig()
        info = RepoInfo(
            spec_version=2,
            branches={"main": INITIAL_SNAPSHOT_ID},
            tags={},
            deleted_tags=set(),
            snapshots={INITIAL_SNAPSHOT_ID: SnapshotRecord(
                INITIAL_SNAPSHOT_ID, None, t, INITIAL_MESSAGE, copy.deepcopy(_ROOT_MD))},
            status=RepoStatusRecord(0, t, None),
            metadata={},
            latest_updates=[UpdateRecord("RepoInitialized", {}, t, None)],
            config=cfg._to_dict() if config is not None else None,
        )
        try:
            await storage.put_object_if(REPO_PATH, codec.encode_repo_info(info), expected=None)
        except ConditionFailedError:
            raise AlreadyExistsError(f"a repository was created concurrently at {storage!r}",
                                     "repository-already-exists") from None
        return cls(storage, cfg, authorize_virtual_chunk_access)

    @classmethod
    async def open_async(
        cls,
        storage: Storage,
        config: RepositoryConfig | None = None,
        authorize_virtual_chunk_access: dict[str, Any] | None = None,
        attribution: Any = None,
    ) -> Repository:
        """Open an existing repository; see :meth:`open`."""
        info, _, _ = await AssetManager(storage).fetch_repo_info()
        persisted = RepositoryConfig._from_dict(info.config)
        cfg = persisted.merge(config) if config is not None else persisted
        return cls(storage, cfg, authorize_virtual_chunk_access)

    @classmethod
    async def open_or_create_async(cls, storage: Storage, config: RepositoryConfig | None = None,
                                   authorize_virtual_chunk_access: dict[str, Any] | None = None,
                                   create_version: int | None = None,
                                   check_clean_root: bool = True,
                                   attribution: Any = None) -> Repository:
        if await AssetManager(storage).repo_exists():
            return await cls.open_async(storage, config, authorize_virtual_chunk_access)
        return await cls.create_async(storage, config, authorize_virtual_chunk_access,
                                      create_version, check_clean_root)

    @staticmethod
    async def exists_async(storage: Storage) -> bool:
        return await AssetManager(storage).repo_exists()

    @staticmethod
    async def fetch_spec_version_async(storage: Storage) -> int | None:
        if not await AssetManager(storage).repo_exists():
            return None
        info, _, _ = await AssetManager(storage).fetch_repo_info()
        return info.spec_version

    @staticmethod
    async def fetch_config_async(storage: Storage) -> RepositoryConfig | None:
        info, _, _ = await AssetManager(storage).fetch_repo_info()
        return None if info.config is None else RepositoryConfig._from_dict(info.config)

    @classmethod
    def create(cls, storage: Storage, config: RepositoryConfig | None = None,
               authorize_virtual_chunk_access: dict[str, Any] | None = None,
               spec_version: int | None = None, check_clean_root: bool = True,
               attribution: Any = None) -> Repository:
        """Create a new repository at ``storage``.

        Raises ``AlreadyExistsError`` if one exists there, ``InvalidInputError``
        if the location holds other objects (unless ``check_clean_root=False``).
        """
        return sync(cls.create_async(storage, config, authorize_virtual_chunk_access,
                                     spec_version, check_clean_root, attribution))

    @classmethod
    def open(cls, storage: Storage, config: RepositoryConfig | None = None,
             authorize_virtual_chunk_access: dict[str, Any] | None = None,
             attribution: Any = None) -> Repository:
        """Open the repository at ``storage``; ``RepositoryNotFoundError`` if none."""
        return sync(cls.open_async(storage, config, authorize_virtual_chunk_access))

    @classmethod
    def open_or_create(cls, storage: Storage, config: RepositoryConfig | None = None,
                       authorize_virtual_chunk_access: dict[str, Any] | None = None,
                       create_version: int | None = None, check_clean_root: bool = True,
                       attribution: Any = None) -> Repository:
        """Open the repository at ``storage``, creating it if absent."""
        return sync(cls.open_or_create_async(storage, config, authorize_virtual_chunk_access,
                                             create_version, check_clean_root))

    @staticmethod
    def exists(storage: Storage) -> bool:
        """Whether a repository exists at ``storage``."""
        return sync(Repository.exists_async(storage))

    @staticmethod
    def fetch_spec_version(storage: Storage) -> int | None:
        """The spec version of the repository at ``storage`` (``None`` if none)."""
        return sync(Repository.fetch_spec_version_async(storage))

    @staticmethod
    def fetch_config(storage: Storage) -> RepositoryConfig | None:
        """The configuration persisted in the repository at ``storage``."""
        return sync(Repository.fetch_config_async(storage))

    # ========================================================== properties
    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def config(self) -> RepositoryConfig:
        return self._config

    @property
    def spec_version(self) -> int:
        return 2

    def authorized_virtual_container_prefixes(self) -> set[str]:
        return set(self._authorized)

    def reopen(self, config: RepositoryConfig | None = None,
               authorize_virtual_chunk_access: dict[str, Any] | None = None) -> Repository:
        """A new handle on the same storage with another config / authorizations."""
        return sync(self.reopen_async(config, authorize_virtual_chunk_access))

    async def reopen_async(self, config: RepositoryConfig | None = None,
                           authorize_virtual_chunk_access: dict[str, Any] | None = None,
                           ) -> Repository:
        auth = self._authorized if authorize_virtual_chunk_access is None else \
            authorize_virtual_chunk_access
        return await Repository.open_async(self._storage, config, auth)

    def save_config(self) -> None:
        """Persist this handle's configuration in the repo info file."""
        sync(self.save_config_async())

    async def save_config_async(self) -> None:
        cfg = self._config._to_dict()

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.config = cfg
            return UpdateRecord("ConfigChanged", {}, 0)

        await self._update(mutate)

    def set_default_commit_metadata(self, metadata: dict[str, Any]) -> None:
        self._default_commit_metadata = dict(metadata)

    @property
    def default_commit_metadata(self) -> dict[str, Any]:
        return dict(self._default_commit_metadata)

    def set_manifest_split_policy(self, policy: str | ManifestSplitPolicy | None,
                                  **options: Any) -> None:
        """Use a manifest split policy for commits made through this handle (frazil extra).

        Parameters
        ----------
        policy
            A name registered through ``frazil_register_manifest_split_policies``
            (built with ``options``), a policy instance, or ``None`` to go back to
            the default (``FRAZIL_MANIFEST_SPLIT_POLICY``, else ``"config"``).

        Not persisted: icechunk and other handles keep the config-driven policy.
        """
        from frazil.split import make_policy

        self._manifest_split_policy = None if policy is None else make_policy(policy, **options)

    @property
    def manifest_split_policy(self) -> ManifestSplitPolicy | None:
        """The policy set by :meth:`set_manifest_split_policy`, or ``None`` (frazil extra)."""
        return self._manifest_split_policy

    # =========================================================== repo info
    async def _repo_info(self) -> RepoInfo:
        info, _, _ = await self._assets.fetch_repo_info()
        return info

    async def _update(self, mutate: Callable[[RepoInfo], UpdateRecord]) -> RepoInfo:
        """Apply ``mutate`` to the repo info with optimistic concurrency.

        ``mutate`` edits a private copy and returns the ops-log entry; it
        raises to abort (e.g. a branch that moved). The old file is copied to
        ``overwritten/`` first; the entry that produced it gets that path.
        """
        delay = 0.005
        for _ in range(_MAX_UPDATE_ATTEMPTS):
            info, token, raw = await self._assets.fetch_repo_info()
            new = _copy_info(info)
            entry = mutate(new)
            entry.updated_at = now_micros()
            bpath = backup_path()
            await self._storage.put_object(bpath, raw)
            if new.latest_updates:
                new.latest_updates[0] = replace(new.latest_updates[0], backup_path=bpath)
            new.latest_updates.insert(0, entry)
            limit = RepositoryConfig._from_dict(new.config)._updates_per_file
            if len(new.latest_updates) > limit:
                del new.latest_updates[limit:]
                new.repo_before_updates = bpath
            try:
                await self._storage.put_object_if(REPO_PATH, codec.encode_repo_info(new),
                                                  expected=token)
                return new
            except ConditionFailedError:
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
        raise ConflictError(message="could not update the repo info file: too many concurrent "
                            "updates", kind=ErrorKind.UPDATE_ATTEMPTS_EXHAUSTED)

    @staticmethod
    def _require_snapshot(info: RepoInfo, sid: ObjectId) -> None:
        if sid not in info.snapshots:
            raise SnapshotNotFoundError(f"snapshot {sid} not found in this repository")

    # ============================================================ branches
    async def create_branch_async(self, branch: str, snapshot_id: str) -> None:
        _refs.check_ref_name(branch, "branch")
        sid = _refs.parse_snapshot_id(snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch in info.branches:
                raise AlreadyExistsError(f"branch {branch!r} already exists",
                                         ErrorKind.BRANCH_ALREADY_EXISTS)
            self._require_snapshot(info, sid)
            info.branches[branch] = sid
            return UpdateRecord("BranchCreated", {"name": branch}, 0)

        await self._update(mutate)

    def create_branch(self, branch: str, snapshot_id: str) -> None:
        """Create ``branch`` pointing at ``snapshot_id``."""
        sync(self.create_branch_async(branch, snapshot_id))

    async def list_branches_async(self) -> set[str]:
        return set((await self._repo_info()).branches)

    def list_branches(self) -> set[str]:
        """Names of all branches."""
        return sync(self.list_branches_async())

    async def lookup_branch_async(self, branch: str) -> str:
        info = await self._repo_info()
        try:
            return str(info.branches[branch])
        except (KeyError, TypeError):
            raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.BRANCH_NOT_FOUND) \
                from None

    def lookup_branch(self, branch: str) -> str:
        """The snapshot id at the tip of ``branch``."""
        return sync(self.lookup_branch_async(branch))

    async def reset_branch_async(self, branch: str, snapshot_id: str, *,
                                 from_snapshot_id: str | None = None) -> None:
        sid = _refs.parse_snapshot_id(snapshot_id)
        expected = None if from_snapshot_id is None else _refs.parse_snapshot_id(from_snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.BRANCH_NOT_FOUND)
            self._require_snapshot(info, sid)
            prev = info.branches[branch]
            if expected is not None and prev != expected:
                raise ConflictError(str(expected), str(prev),
                                    kind=ErrorKind.BRANCH_UPDATE_CONFLICT)
            info.branches[branch] = sid
            return UpdateRecord("BranchReset", {"name": branch, "previous_snap_id": prev}, 0)

        await self._update(mutate)

    def reset_branch(self, branch: str, snapshot_id: str, *,
                     from_snapshot_id: str | None = None) -> None:
        """Point ``branch`` at ``snapshot_id`` (only if it is at ``from_snapshot_id``)."""
        sync(self.reset_branch_async(branch, snapshot_id, from_snapshot_id=from_snapshot_id))

    async def delete_branch_async(self, branch: str) -> None:
        if branch == "main":
            raise SessionStateError("cannot delete the main branch", ErrorKind.CANNOT_DELETE_MAIN)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.BRANCH_NOT_FOUND)
            prev = info.branches.pop(branch)
            return UpdateRecord("BranchDeleted", {"name": branch, "previous_snap_id": prev}, 0)

        await self._update(mutate)

    def delete_branch(self, branch: str) -> None:
        """Delete ``branch`` (never ``main``)."""
        sync(self.delete_branch_async(branch))

    # ================================================================ tags
    async def create_tag_async(self, tag: str, snapshot_id: str) -> None:
        _refs.check_ref_name(tag, "tag")
        sid = _refs.parse_snapshot_id(snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if tag in info.tags:
                raise AlreadyExistsError(f"tag {tag!r} already exists",
                                         ErrorKind.TAG_ALREADY_EXISTS)
            if tag in info.deleted_tags:
                raise AlreadyExistsError(f"tag {tag!r} was deleted and its name cannot be "
                                         "reused", ErrorKind.TAG_PREVIOUSLY_DELETED)
            self._require_snapshot(info, sid)
            info.tags[tag] = sid
            return UpdateRecord("TagCreated", {"name": tag}, 0)

        await self._update(mutate)

    def create_tag(self, tag: str, snapshot_id: str) -> None:
        """Create the immutable tag ``tag`` at ``snapshot_id``."""
        sync(self.create_tag_async(tag, snapshot_id))

    async def delete_tag_async(self, tag: str) -> None:
        def mutate(info: RepoInfo) -> UpdateRecord:
            if tag not in info.tags:
                raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.TAG_NOT_FOUND)
            prev = info.tags.pop(tag)
            info.deleted_tags.add(tag)
            return UpdateRecord("TagDeleted", {"name": tag, "previous_snap_id": prev}, 0)

        await self._update(mutate)

    def delete_tag(self, tag: str) -> None:
        """Delete ``tag``; its name can never be used again."""
        sync(self.delete_tag_async(tag))

    async def list_tags_async(self) -> set[str]:
        return set((await self._repo_info()).tags)

    def list_tags(self) -> set[str]:
        """Names of all tags."""
        return sync(self.list_tags_async())

    async def lookup_tag_async(self, tag: str) -> str:
        info = await self._repo_info()
        try:
            return str(info.tags[tag])
        except (KeyError, TypeError):
            raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.TAG_NOT_FOUND) from None

    def lookup_tag(self, tag: str) -> str:
        """The snapshot id of ``tag``."""
        return sync(self.lookup_tag_async(tag))

    # ============================================================= history
    async def _resolve(self, info: RepoInfo, branch: str | None, tag: str | None,
                       snapshot_id: str | None) -> ObjectId:
        given = [x is not None for x in (branch, tag, snapshot_id)]
        if sum(given) != 1:
            raise InvalidInputError("give exactly one of branch=, tag= or snapshot_id=")
        if branch is not None:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.BRANCH_NOT_FOUND)
            return info.branches[branch]
        if tag is not None:
            if tag not in info.tags:
                raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.TAG_NOT_FOUND)
            return info.tags[tag]
        sid = _refs.parse_snapshot_id(snapshot_id)
        self._require_snapshot(info, sid)
        return sid

    @staticmethod
    def _walk(info: RepoInfo, sid: ObjectId | None) -> Iterator[SnapshotRecord]:
        seen: set[ObjectId] = set()
        while sid is not None and sid not in seen:
            seen.add(sid)
            rec = info.snapshots.get(sid)
            if rec is None:
                return
            yield rec
            sid = rec.parent_id

    async def async_ancestry(self, *, branch: str | None = None, tag: str | None = None,
                             snapshot_id: str | None = None) -> AsyncIterator[SnapshotInfo]:
        """Async form of :meth:`ancestry`."""
        info = await self._repo_info()
        sid = await self._resolve(info, branch, tag, snapshot_id)
        for rec in self._walk(info, sid):
            yield _info_to_public(rec)

    def ancestry(self, *, branch: str | None = None, tag: str | None = None,
                 snapshot_id: str | None = None) -> Iterator[SnapshotInfo]:
        """The snapshots from the given one back to the first, newest first."""

        async def collect() -> list[SnapshotInfo]:
            return [s async for s in self.async_ancestry(branch=branch, tag=tag,
                                                         snapshot_id=snapshot_id)]

        return iter(sync(collect()))

    async def lookup_snapshot_async(self, snapshot_id: str) -> SnapshotInfo:
        info = await self._repo_info()
        sid = _refs.parse_snapshot_id(snapshot_id)
        self._require_snapshot(info, sid)
        return _info_to_public(info.snapshots[sid])

    def lookup_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        """The ``SnapshotInfo`` of ``snapshot_id``."""
        return sync(self.lookup_snapshot_async(snapshot_id))

    async def ops_log_async(self) -> list[Update]:
        info = await self._repo_info()
        out: list[Update] = []
        seen: set[tuple[str, int]] = set()
        while True:
            for u in info.latest_updates:
                key = (u.kind, u.updated_at)
                if key in seen:
                    continue
                seen.add(key)
                fields = {k: str(v) if isinstance(v, ObjectId) else v for k, v in u.fields.items()}
                out.append(Update(u.kind, micros_to_datetime(u.updated_at), u.backup_path, fields))
            if not info.repo_before_updates:
                return out
            data = await self._storage.get_object(info.repo_before_updates)
            info = codec.decode_repo_info(data, info.repo_before_updates)

    def ops_log(self) -> Iterator[Update]:
        """Every operation performed on the repository, newest first."""
        return iter(sync(self.ops_log_async()))

    # ============================================================ metadata
    async def get_metadata_async(self) -> dict[str, Any]:
        return copy.deepcopy((await self._repo_info()).metadata)

    def get_metadata(self) -> dict[str, Any]:
        """The repository-level metadata."""
        return sync(self.get_metadata_async())

    @property
    def metadata(self) -> dict[str, Any]:
        return self.get_metadata()

    async def set_metadata_async(self, metadata: dict[str, Any]) -> None:
        md = copy.deepcopy(dict(metadata))

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.metadata = md
            return UpdateRecord("MetadataChanged", {}, 0)

        await self._update(mutate)

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the repository-level metadata."""
        sync(self.set_metadata_async(metadata))

    async def update_metadata_async(self, metadata: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.metadata.update(copy.deepcopy(dict(metadata)))
            result.clear()
            result.update(info.metadata)
            return UpdateRecord("MetadataChanged", {}, 0)

        await self._update(mutate)
        return copy.deepcopy(result)

    def update_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Merge ``metadata`` into the repository-level metadata; returns the result."""
        return sync(self.update_metadata_async(metadata))

    # ============================================================ sessions
    async def readonly_session_async(self, branch: str | None = None, *, tag: str | None = None,
                                     snapshot_id: str | None = None,
                                     as_of: _dt.datetime | None = None) -> Any:
        from frazil.session import Session

        info = await self._repo_info()
        if as_of is not None:
            if branch is None:
                raise InvalidInputError("as_of= needs branch=")
            sid = await self._resolve(info, branch, None, None)
            limit = int(as_of.timestamp() * 1_000_000)
            for rec in self._walk(info, sid):
                if rec.flushed_at <= limit:
                    sid = rec.id
                    break
            else:
                raise SnapshotNotFoundError(f"no snapshot on branch {branch!r} at or before "
                                            f"{as_of.isoformat()}", ErrorKind.NO_SNAPSHOT_AT_TIME)
        else:
            sid = await self._resolve(info, branch, tag, snapshot_id)
        snap = await self._assets.fetch_snapshot(sid)
        return Session(self, snap, branch=None, read_only=True)

    def readonly_session(self, branch: str | None = None, *, tag: str | None = None,
                         snapshot_id: str | None = None,
                         as_of: _dt.datetime | None = None) -> Any:
        """A read-only session at a branch tip, tag, snapshot, or branch as of a time."""
        return sync(self.readonly_session_async(branch, tag=tag, snapshot_id=snapshot_id,
                                                as_of=as_of))

    async def writable_session_async(self, branch: str) -> Any:
        from frazil.session import Session

        info = await self._repo_info()
        sid = await self._resolve(info, branch, None, None)
        snap = await self._assets.fetch_snapshot(sid)
        return Session(self, snap, branch=branch, read_only=False)

    def writable_session(self, branch: str) -> Any:
        """A session that can write and then commit to ``branch``."""
        return sync(self.writable_session_async(branch))

    @contextlib.contextmanager
    def transaction(self, branch: str, *, message: str, metadata: dict[str, Any] | None = None,
                    rebase_with: Any = None, rebase_tries: int = 1_000) -> Iterator[Any]:
        """Context manager yielding a writable store, committed on a clean exit."""
        session = self.writable_session(branch)
        yield session.store
        session.commit(message, metadata=metadata, rebase_with=rebase_with,
                       rebase_tries=rebase_tries)

    def __repr__(self) -> str:
        return f"<frazil.Repository storage={self._storage!r}>"
