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
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from frazil import _fork, _refs, ops
from frazil._assets import AssetManager, compression_level
from frazil._logs import Attribution
from frazil._repo_admin import RepositoryAdmin
from frazil._repr import Fields, Mode, ReprMixin, render
from frazil._state import RepoInfoFileState, RepoState, now_micros, refuse_if_not_online
from frazil._state_v1 import RefsState, needs_v2_error
from frazil._sync import sync, with_sync_facades
from frazil._virtual import VirtualChunkReader
from frazil.config import RepositoryConfig
from frazil.credentials import note_none_credentials
from frazil.errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    FormatError,
    InvalidInputError,
    ReadOnlyError,
    RefNotFoundError,
    RepositoryNotFoundError,
    SessionStateError,
    SnapshotNotFoundError,
)
from frazil.format.ids import INITIAL_SNAPSHOT_ID, ObjectId
from frazil.format.model import (
    RepoInfo,
    RepoStatusRecord,
    Snapshot,
    SnapshotRecord,
    TransactionLog,
    UpdateRecord,
)
from frazil.format.versions import SpecVersion, parse_spec_version
from frazil.ops import Update
from frazil.ops._status import check_flag
from frazil.session import Session
from frazil.snapshots import SnapshotInfo
from frazil.split import ManifestSplitPolicy, make_policy
from frazil.storage import Storage
from frazil.store import AsyncCloseableIterator, IcechunkStore

__all__ = ["AsyncCloseableIterator", "IcechunkStore", "Repository", "Session"]

INITIAL_MESSAGE = "Repository initialized"
# icechunk marks the first snapshot in its metadata (snapshot file and repo info)
_ROOT_MD = {"__icechunk": {"is_root": True}}


@with_sync_facades
class Repository(RepositoryAdmin, ReprMixin):
    """A versioned Zarr repository on a ``Storage`` (icechunk's ``Repository``)."""

    def __init__(self, storage: Storage, config: RepositoryConfig,
                 authorize_virtual_chunk_access: dict[str, Any] | None = None,
                 spec_version: int = 2) -> None:
        # the config's storage settings (retries, timeouts, conditional writes...) apply
        # to every request of this handle, as in icechunk
        self._storage = storage = storage.with_settings(config.storage)
        self._spec = SpecVersion(spec_version)
        self._assets = AssetManager(storage, int(self._spec), compression_level(config))
        self._state: RepoState = (RefsState(self._assets) if self._spec == SpecVersion.v1
                                  else RepoInfoFileState(self._assets))
        self._config = config
        self._authorized = dict(authorize_virtual_chunk_access or {})
        self._default_commit_metadata: dict[str, Any] = {}
        self._manifest_split_policy: ManifestSplitPolicy | None = None
        self._virtual = VirtualChunkReader(self._container_settings, self._authorized)

    def _container_settings(self) -> dict[str, Any] | None:
        return self._config._to_dict().get("virtual_chunk_containers")  # type: ignore[no-any-return]

    def __getstate__(self) -> dict[str, Any]:
        # caches, resolvers and the state layer are rebuilt on the other side
        return {"storage": _fork.picklable_storage(self._storage), "config": self._config,
                "authorized": self._authorized,
                "default_commit_metadata": self._default_commit_metadata,
                "manifest_split_policy": self._manifest_split_policy,
                "spec_version": int(self._spec)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        storage = _fork.unpickled_storage(state["storage"])
        self.__init__(storage, state["config"], state["authorized"],  # type: ignore[misc]
                      state.get("spec_version", 2))
        self._default_commit_metadata = state["default_commit_metadata"]
        self._manifest_split_policy = state["manifest_split_policy"]

    # ================================================================ open
    @classmethod
    async def create_async(
        cls,
        storage: Storage,
        config: RepositoryConfig | None = None,
        authorize_virtual_chunk_access: dict[str, Any] | None = None,
        spec_version: SpecVersion | int | None = None,
        check_clean_root: bool = True,
        attribution: Any = None,
    ) -> Repository:
        """Create a new repository (spec version 2 unless ``spec_version=1``); see ``create``."""
        version = parse_spec_version(spec_version)
        storage.check_can_create_repository()
        if config is not None:
            storage = storage.with_settings(config.storage)
        assets = AssetManager(storage, int(version), compression_level(config))
        state: RepoState = (RefsState(assets) if version == SpecVersion.v1
                            else RepoInfoFileState(assets))
        # icechunk checks the prefix first: over a repository, the default is this error too
        if check_clean_root:  # both questions at once: one round trip less on object stores
            exists, listed = await asyncio.gather(Repository.exists_async(storage),
                                                  storage.list_objects_async(""))
        else:
            exists, listed = await Repository.exists_async(storage), []
        if check_clean_root and (exists or listed):
            what = "a repository already exists at" if exists else "not empty:"
            raise InvalidInputError("repositories can only be created in clean prefixes: "
                                    f"{what} {storage._label()}",
                                    ErrorKind.PARENT_DIRECTORY_NOT_CLEAN)
        if exists:
            raise AlreadyExistsError(f"a repository already exists at {storage._label()}",
                                     ErrorKind.REPOSITORY_ALREADY_EXISTS)
        t = now_micros()
        # like icechunk, the first snapshot is empty: the root group is written by the user
        snap = Snapshot(id=INITIAL_SNAPSHOT_ID, nodes=[], flushed_at=t,
                        message=INITIAL_MESSAGE, metadata=copy.deepcopy(_ROOT_MD),
                        manifest_files=[])
        if version == SpecVersion.v1:  # icechunk writes no tx log for a v1 first snapshot
            await assets.write_snapshot(snap)
        else:
            await asyncio.gather(assets.write_snapshot(snap), assets.write_transaction_log(
                TransactionLog(id=INITIAL_SNAPSHOT_ID)))
        cfg = config if config is not None else RepositoryConfig()
        info = RepoInfo(
            spec_version=int(version),
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
        await state.initialize(info)
        note_none_credentials(authorize_virtual_chunk_access)
        repo = cls(storage, cfg, authorize_virtual_chunk_access, int(version))
        repo._attribution = attribution
        return repo

    @classmethod
    async def open_async(
        cls,
        storage: Storage,
        config: RepositoryConfig | None = None,
        authorize_virtual_chunk_access: dict[str, Any] | None = None,
        attribution: Any = None,
    ) -> Repository:
        """Open an existing repository; see :meth:`open`."""
        # the common case in one request: the repo info file (it wins over v1 refs,
        # an upgrade writes it last); only when it is absent, look for spec-v1 refs
        version = SpecVersion.v2
        if config is not None:  # the caller's settings apply to reading the config too
            storage = storage.with_settings(config.storage)
        try:
            stored = (await RepoInfoFileState(AssetManager(storage)).fetch()).config
        except RepositoryNotFoundError:
            v1 = RefsState(AssetManager(storage, 1))
            if not await v1.exists():
                raise
            version, stored = SpecVersion.v1, await v1.fetch_config()
        persisted = RepositoryConfig._from_dict(stored)
        cfg = persisted.merge(config) if config is not None else persisted
        note_none_credentials(authorize_virtual_chunk_access)
        repo = cls(storage, cfg, authorize_virtual_chunk_access, int(version))
        repo._attribution = attribution
        return repo

    @classmethod
    async def open_or_create_async(cls, storage: Storage, config: RepositoryConfig | None = None,
                                   authorize_virtual_chunk_access: dict[str, Any] | None = None,
                                   create_version: int | None = None,
                                   check_clean_root: bool = True,
                                   attribution: Any = None) -> Repository:
        """Open the repository at ``storage``, creating it if absent."""
        if await Repository.exists_async(storage):
            return await cls.open_async(storage, config, authorize_virtual_chunk_access)
        return await cls.create_async(storage, config, authorize_virtual_chunk_access,
                                      create_version, check_clean_root)

    @staticmethod
    async def exists_async(storage: Storage, storage_settings: Any = None) -> bool:
        """Whether a repository exists at ``storage`` (read with ``storage_settings``)."""
        storage = storage.with_settings(storage_settings)
        return await Repository._detect_spec_version(storage) is not None

    @staticmethod
    async def _detect_spec_version(storage: Storage) -> SpecVersion | None:
        # a repo info file wins over v1 refs: an upgrade writes it last
        v2, v1 = await asyncio.gather(RepoInfoFileState(AssetManager(storage)).exists(),
                                      RefsState(AssetManager(storage, 1)).exists())
        if v2:
            return SpecVersion.v2
        return SpecVersion.v1 if v1 else None

    @staticmethod
    async def fetch_spec_version_async(storage: Storage, storage_settings: Any = None
                                       ) -> SpecVersion | None:
        """The spec version of the repository at ``storage`` (``None`` if none)."""
        storage = storage.with_settings(storage_settings)
        version = await Repository._detect_spec_version(storage)
        if version != SpecVersion.v2:
            return version
        return SpecVersion((await RepoInfoFileState(AssetManager(storage)).fetch()).spec_version)

    @staticmethod
    async def fetch_config_async(storage: Storage) -> RepositoryConfig | None:
        """The configuration persisted in the repository at ``storage``."""
        if await Repository._detect_spec_version(storage) == SpecVersion.v1:
            stored = await RefsState(AssetManager(storage, 1)).fetch_config()
        else:
            stored = (await RepoInfoFileState(AssetManager(storage)).fetch()).config
        return None if stored is None else RepositoryConfig._from_dict(stored)

    # ========================================================== properties
    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def config(self) -> RepositoryConfig:
        return self._config

    @property
    def spec_version(self) -> SpecVersion:
        return self._spec

    @property
    def attribution(self) -> Attribution:
        """The labels this handle attaches to its requests (given to create/open); all unset
        when none were given, as in icechunk."""
        return getattr(self, "_attribution", None) or Attribution()

    @property
    def authorized_virtual_container_prefixes(self) -> set[str]:
        """The virtual chunk container prefixes this handle may read (icechunk: a property)."""
        return set(self._virtual.authorized_prefixes)

    async def reopen_async(self, config: RepositoryConfig | None = None,
                           authorize_virtual_chunk_access: dict[str, Any] | None = None,
                           ) -> Repository:
        """A new handle on the same storage with another config / authorizations."""
        auth = self._authorized if authorize_virtual_chunk_access is None else \
            authorize_virtual_chunk_access
        return await Repository.open_async(self._storage, config, auth)

    async def save_config_async(self) -> None:
        """Persist this handle's configuration in the repo info file."""
        cfg = self._config._to_dict()

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.config = cfg
            return UpdateRecord("ConfigChanged", {}, 0)

        await self._state.update(mutate)

    def set_default_commit_metadata(self, metadata: dict[str, Any]) -> None:
        self._default_commit_metadata = dict(metadata)

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
        self._manifest_split_policy = None if policy is None else make_policy(policy, **options)

    @property
    def manifest_split_policy(self) -> ManifestSplitPolicy | None:
        """The policy set by :meth:`set_manifest_split_policy`, or ``None`` (frazil extra)."""
        return self._manifest_split_policy

    # =========================================================== repo info
    async def _repo_info(self) -> RepoInfo:
        return await self._state.fetch()

    @staticmethod
    def _require_snapshot(info: RepoInfo, sid: ObjectId) -> None:
        if sid not in info.snapshots:
            raise SnapshotNotFoundError(f"snapshot {sid} not found in this repository")

    # ============================================================ branches
    async def create_branch_async(self, branch: str, snapshot_id: str) -> None:
        """Create ``branch`` pointing at ``snapshot_id``."""
        _refs.check_ref_name(branch, "branch")
        sid = _refs.parse_snapshot_id(snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch in info.branches:
                raise AlreadyExistsError(f"branch {branch!r} already exists",
                                         ErrorKind.BRANCH_ALREADY_EXISTS)
            self._require_snapshot(info, sid)
            info.branches[branch] = sid
            return UpdateRecord("BranchCreated", {"name": branch}, 0)

        await self._state.update(mutate)

    async def list_branches_async(self) -> set[str]:
        """Names of all branches."""
        return set((await self._repo_info()).branches)

    async def lookup_branch_async(self, branch: str) -> str:
        """The snapshot id at the tip of ``branch``."""
        info = await self._repo_info()
        try:
            return str(info.branches[branch])
        except (KeyError, TypeError):
            raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.REF_NOT_FOUND) \
                from None

    async def reset_branch_async(self, branch: str, snapshot_id: str, *,
                                 from_snapshot_id: str | None = None) -> None:
        """Point ``branch`` at ``snapshot_id`` (only if it is at ``from_snapshot_id``)."""
        sid = _refs.parse_snapshot_id(snapshot_id)
        expected = None if from_snapshot_id is None else _refs.parse_snapshot_id(from_snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.REF_NOT_FOUND)
            self._require_snapshot(info, sid)
            prev = info.branches[branch]
            if expected is not None and prev != expected:
                raise ConflictError(str(expected), str(prev),
                                    kind=ErrorKind.BRANCH_UPDATE_CONFLICT)
            info.branches[branch] = sid
            return UpdateRecord("BranchReset", {"name": branch, "previous_snap_id": prev}, 0)

        await self._state.update(mutate)

    async def delete_branch_async(self, branch: str) -> None:
        """Delete ``branch`` (never ``main``)."""
        if branch == "main":
            raise SessionStateError("cannot delete the main branch", ErrorKind.CANNOT_DELETE_MAIN)

        def mutate(info: RepoInfo) -> UpdateRecord:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.REF_NOT_FOUND)
            prev = info.branches.pop(branch)
            return UpdateRecord("BranchDeleted", {"name": branch, "previous_snap_id": prev}, 0)

        await self._state.update(mutate)

    # ================================================================ tags
    async def create_tag_async(self, tag: str, snapshot_id: str) -> None:
        """Create the immutable tag ``tag`` at ``snapshot_id``."""
        _refs.check_ref_name(tag, "tag")
        sid = _refs.parse_snapshot_id(snapshot_id)

        def mutate(info: RepoInfo) -> UpdateRecord:
            check_flag(info, "create_tag", "tag creation")
            if tag in info.tags:
                raise AlreadyExistsError(f"tag {tag!r} already exists",
                                         ErrorKind.TAG_ALREADY_EXISTS)
            if tag in info.deleted_tags:
                raise AlreadyExistsError(f"tag {tag!r} was deleted and its name cannot be "
                                         "reused", ErrorKind.TAG_PREVIOUSLY_DELETED)
            self._require_snapshot(info, sid)
            info.tags[tag] = sid
            return UpdateRecord("TagCreated", {"name": tag}, 0)

        await self._state.update(mutate)

    async def delete_tag_async(self, tag: str) -> None:
        """Delete ``tag``; its name can never be used again."""
        def mutate(info: RepoInfo) -> UpdateRecord:
            check_flag(info, "delete_tag", "tag delete")
            if tag not in info.tags:
                raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.REF_NOT_FOUND)
            prev = info.tags.pop(tag)
            info.deleted_tags.add(tag)
            return UpdateRecord("TagDeleted", {"name": tag, "previous_snap_id": prev}, 0)

        await self._state.update(mutate)

    async def list_tags_async(self) -> set[str]:
        """Names of all tags."""
        return set((await self._repo_info()).tags)

    async def lookup_tag_async(self, tag: str) -> str:
        """The snapshot id of ``tag``."""
        info = await self._repo_info()
        try:
            return str(info.tags[tag])
        except (KeyError, TypeError):
            raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.REF_NOT_FOUND) from None

    # ============================================================= history
    async def _resolve(self, info: RepoInfo, branch: str | None, tag: str | None,
                       snapshot_id: str | None) -> ObjectId:
        given = [x is not None for x in (branch, tag, snapshot_id)]
        if sum(given) != 1:
            raise InvalidInputError("give exactly one of branch=, tag= or snapshot_id=")
        if branch is not None:
            if branch not in info.branches:
                raise RefNotFoundError(f"ref not found `{branch}`", ErrorKind.REF_NOT_FOUND)
            return info.branches[branch]
        if tag is not None:
            if tag not in info.tags:
                raise RefNotFoundError(f"ref not found `{tag}`", ErrorKind.REF_NOT_FOUND)
            return info.tags[tag]
        sid = _refs.parse_snapshot_id(snapshot_id)
        self._require_snapshot(info, sid)
        return sid

    def async_ancestry(self, *, branch: str | None = None, tag: str | None = None,
                       snapshot_id: str | None = None) -> AsyncCloseableIterator[SnapshotInfo]:
        """Async form of :meth:`ancestry`: ``async for snap in repo.async_ancestry(...)``."""
        return self.ancestry(branch=branch, tag=tag, snapshot_id=snapshot_id)

    def ancestry(self, *, branch: str | None = None, tag: str | None = None,
                 snapshot_id: str | None = None) -> AsyncCloseableIterator[SnapshotInfo]:
        """The snapshots from the given one back to the first, newest first (iterable with
        ``for`` and ``async for``). The ref is resolved now, as icechunk does."""

        async def resolve() -> tuple[RepoInfo, ObjectId]:
            info = await self._repo_info()
            return info, await self._resolve(info, branch, tag, snapshot_id)

        info, sid = sync(resolve())

        async def each() -> AsyncGenerator[SnapshotInfo, None]:
            async for snap in ops.ancestry(self._state, sid, info):
                yield snap

        return AsyncCloseableIterator(each(), lambda: ops.ancestry_list(self._state, sid, info))

    async def lookup_snapshot_async(self, snapshot_id: str) -> SnapshotInfo:
        """The ``SnapshotInfo`` of ``snapshot_id``."""
        info = await self._repo_info()
        sid = _refs.parse_snapshot_id(snapshot_id)
        self._require_snapshot(info, sid)
        return ops.snapshot_info(info.snapshots[sid])

    def ops_log_async(self) -> AsyncCloseableIterator[Update]:
        """Every operation performed on the repository, newest first, as an async iterator
        (``async for update in repo.ops_log_async()``, as in icechunk)."""
        if self._spec == SpecVersion.v1:  # refused when called, as icechunk does
            raise needs_v2_error()
        return AsyncCloseableIterator(self._ops_log())

    async def _ops_log(self) -> AsyncGenerator[Update, None]:
        for update in await ops.ops_log(self._state):
            yield update

    def ops_log(self) -> AsyncCloseableIterator[Update]:
        """Every operation performed on the repository, newest first (iterable with ``for``
        and ``async for``, as icechunk's)."""
        return self.ops_log_async()

    # ============================================================ metadata
    async def get_metadata_async(self) -> dict[str, Any]:
        """The repository-level metadata (spec version 2 repositories only)."""
        if self._spec == SpecVersion.v1:
            raise needs_v2_error()
        return copy.deepcopy((await self._repo_info()).metadata)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.get_metadata()

    async def set_metadata_async(self, metadata: dict[str, Any]) -> None:
        """Replace the repository-level metadata."""
        md = copy.deepcopy(dict(metadata))

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.metadata = md
            return UpdateRecord("MetadataChanged", {}, 0)

        await self._state.update(mutate)

    async def update_metadata_async(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Merge ``metadata`` into the repository-level metadata; returns the result."""
        result: dict[str, Any] = {}

        def mutate(info: RepoInfo) -> UpdateRecord:
            info.metadata.update(copy.deepcopy(dict(metadata)))
            result.clear()
            result.update(info.metadata)
            return UpdateRecord("MetadataChanged", {}, 0)

        await self._state.update(mutate)
        return copy.deepcopy(result)

    # ============================================================ sessions
    async def readonly_session_async(self, branch: str | None = None, *, tag: str | None = None,
                                     snapshot_id: str | None = None,
                                     as_of: _dt.datetime | None = None) -> Session:
        """A read-only session at a branch tip, tag, snapshot, or branch as of a time."""
        if snapshot_id is not None and branch is None and tag is None and as_of is None:
            # a named snapshot is fetched while the repo info is read (one round trip less
            # on object stores) and used only once the info says the repository has it
            sid = _refs.parse_snapshot_id(snapshot_id)
            info, snap = await asyncio.gather(self._repo_info(),
                                              self._assets.fetch_snapshot(sid),
                                              return_exceptions=True)
            if isinstance(info, BaseException):
                raise info
            self._require_snapshot(info, sid)  # unlisted: not found, whatever the file says
            if isinstance(snap, BaseException):
                raise snap
            return self._session(snap, None)
        info = await self._repo_info()
        if as_of is not None:
            if branch is None:
                raise InvalidInputError("as_of= needs branch=")
            tip = await self._resolve(info, branch, None, None)
            sid = await ops.as_of(self._state, tip, as_of, branch, info)
        else:
            sid = await self._resolve(info, branch, tag, snapshot_id)
        return self._session(await self._assets.fetch_snapshot(sid), None)

    async def writable_session_async(self, branch: str) -> Session:
        """A session that can write and then commit to ``branch``."""
        if not self._storage.can_write:
            raise ReadOnlyError("cannot open a writable session: the "
                                f"{self._storage._label()} is read-only",
                                ErrorKind.READ_ONLY_STORE)
        info = await self._repo_info()
        refuse_if_not_online(info)
        sid = await self._resolve(info, branch, None, None)
        return self._session(await self._assets.fetch_snapshot(sid), branch)

    def _session(self, snap: Snapshot, branch: str | None) -> Session:
        return Session(self, snap, branch=branch, read_only=branch is None, assets=self._assets,
                       state=self._state, virtual=self._virtual)

    @contextlib.contextmanager
    def transaction(self, branch: str, *, message: str, metadata: dict[str, Any] | None = None,
                    rebase_with: Any = None, rebase_tries: int = 1_000) -> Iterator[Any]:
        """Context manager yielding a writable store, committed on a clean exit."""
        session = self.writable_session(branch)
        yield session.store
        session.commit(message, metadata=metadata, rebase_with=rebase_with,
                       rebase_tries=rebase_tries)

    # icechunk prints the storage and, in notebooks only, the whole config
    def _repr_header(self) -> str:
        return f"frazil.Repository (v{int(self._spec)})"

    def _repr_fields(self, mode: Mode) -> Fields:
        config = self.config._render(mode) if mode is Mode.HTML else "<RepositoryConfig ...>"
        return [("storage", render(self._storage, mode)), ("config", config)]

    # ============================================================ rearrange
    async def rearrange_session_async(self, branch: str) -> Session:
        """A session that can only move nodes (``Session.move``), then commit to ``branch``.

        Moves are metadata-only: no chunk is rewritten. Other writes in this
        session are refused; open a ``writable_session`` for those.
        """
        if self.spec_version < 2:  # spec 1 has no way to record a move
            raise FormatError("this operation requires a repository that is at least version "
                              "2.0: upgrade the on-disk format first",
                              ErrorKind.UNSUPPORTED_SPEC_VERSION)
        session = await self.writable_session_async(branch)
        session._begin_rearrange()
        return session
