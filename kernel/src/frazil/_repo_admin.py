"""Repository administration: the ``Repository`` methods over :mod:`frazil.ops`.

Expiry, garbage collection, storage statistics, diffs, status and feature
flags, inspection, ``check``, the ancestry graph and manifest rewriting, as
icechunk 2.3 names them. :class:`RepositoryAdmin` is a mixin of
:class:`frazil.Repository`; each method is a thin wrapper (``x_async`` only;
the sync ``x`` is generated).
"""

from __future__ import annotations

import copy
import datetime as _dt
import logging
import warnings
from typing import TYPE_CHECKING, Any

from frazil import _refs, ops
from frazil._assets import AssetManager
from frazil._state import RepoState
from frazil._sync import sync, with_sync_facades
from frazil.config import RepositoryConfig
from frazil.errors import InvalidInputError
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo
from frazil.ops import FeatureFlag, RepoStatus
from frazil.snapshots import Diff, ManifestFileInfo
from frazil.storage import Storage

if TYPE_CHECKING:
    from frazil.session import Session

__all__ = ["RepositoryAdmin"]

log = logging.getLogger("frazil.ops")


@with_sync_facades
class RepositoryAdmin:
    """Administration methods of :class:`frazil.Repository` (see the module docstring)."""

    # provided by Repository
    _storage: Storage
    _assets: AssetManager
    _state: RepoState
    _config: RepositoryConfig

    if TYPE_CHECKING:
        async def _repo_info(self) -> RepoInfo: ...

        async def _resolve(self, info: RepoInfo, branch: str | None, tag: str | None,
                           snapshot_id: str | None) -> ObjectId: ...

        async def writable_session_async(self, branch: str) -> Session: ...

    # ======================================================= administration
    # (frazil.ops: expiry, garbage collection, statistics)
    async def expire_snapshots_async(self, older_than: _dt.datetime, *,
                                     delete_expired_branches: bool = False,
                                     delete_expired_tags: bool = False,
                                     progress: Any = None) -> set[str]:
        """Expire the snapshots written before ``older_than``; returns the expired ids.

        Parameters
        ----------
        older_than
            Cut-off (exclusive). Root snapshots and the tip of ``main`` never
            expire; other branch tips and tag targets only with the flags below.
        delete_expired_branches
            Delete branches (never ``main``) whose tip is older than the cut-off.
        delete_expired_tags
            Delete tags whose snapshot is older than the cut-off.
        progress
            frazil extra: ``progress(phase, done, total)`` is called as the run advances.

        Returns
        -------
        set of str
            The snapshots dropped from the history. Their files remain until
            :meth:`garbage_collect`.
        """
        return await ops.expire_snapshots(
            self._state, older_than, delete_expired_branches=delete_expired_branches,
            delete_expired_tags=delete_expired_tags, can_write=self._storage.can_write,
            progress=progress)

    async def garbage_collect_async(
        self,
        delete_object_older_than: _dt.datetime,
        *,
        dry_run: bool = False,
        max_snapshots_in_memory: int = 50,
        max_compressed_manifest_mem_bytes: int = 512 * 1024 * 1024,
        max_decoded_manifest_mem_bytes: int = 4 * 1024 * 1024 * 1024,
        max_concurrent_manifest_fetches: int = 500,
        max_concurrent_deletes: int = 10,
        max_consecutive_delete_failures: int = 50,
        max_concurrent_listings: int | None = None,
        progress: Any = None,
    ) -> ops.GCSummary:
        """Delete every object no branch or tag reaches, stored before the cut-off.

        Parameters
        ----------
        delete_object_older_than
            Only objects stored before this time are deleted: objects written
            by commits running concurrently are newer, and so are safe.
        dry_run
            Count what would be deleted without deleting or rewriting anything.
        max_snapshots_in_memory, max_compressed_manifest_mem_bytes, \
max_decoded_manifest_mem_bytes, max_concurrent_deletes, max_consecutive_delete_failures, \
max_concurrent_listings
            Accepted for icechunk compatibility; the storage bounds concurrency.
        max_concurrent_manifest_fetches
            At most this many manifests are fetched at once.
        progress
            frazil extra: ``progress(phase, done, total)`` is called as the run advances.

        Returns
        -------
        GCSummary
            Counts of deleted objects and bytes. Progress is logged on the
            ``frazil.ops`` logger.
        """
        return await ops.garbage_collect(
            self._state, self._assets, delete_object_older_than, dry_run=dry_run,
            max_concurrent_manifest_fetches=max_concurrent_manifest_fetches, progress=progress)

    async def diff_async(self, *, from_branch: str | None = None, from_tag: str | None = None,
                         from_snapshot_id: str | None = None, to_branch: str | None = None,
                         to_tag: str | None = None, to_snapshot_id: str | None = None) -> Diff:
        """What changed from version ``from`` to version ``to`` (``from`` an ancestor of ``to``).

        Each side is named by exactly one of branch, tag or snapshot id.

        Returns
        -------
        Diff
            The union of the changes of every snapshot after ``from`` up to ``to``.
        """
        info = await self._repo_info()
        src = await self._resolve(info, from_branch, from_tag, from_snapshot_id)
        dst = await self._resolve(info, to_branch, to_tag, to_snapshot_id)
        return await ops.diff_snapshots(self._state, self._assets, info, src, dst)

    async def chunk_storage_stats_async(
        self,
        *,
        max_snapshots_in_memory: int = 50,
        max_compressed_manifest_mem_bytes: int = 512 * 1024 * 1024,
        max_decoded_manifest_mem_bytes: int = 4 * 1024 * 1024 * 1024,
        max_concurrent_manifest_fetches: int = 500,
    ) -> ops.ChunkStorageStats:
        """Bytes of chunk data referenced from any branch or tag, by kind."""
        return await ops.chunk_storage_stats(self._state, self._assets,
                                             max_concurrent_manifest_fetches)

    async def total_chunks_storage_async(
        self,
        *,
        max_snapshots_in_memory: int = 50,
        max_compressed_manifest_mem_bytes: int = 512 * 1024 * 1024,
        max_decoded_manifest_mem_bytes: int = 4 * 1024 * 1024 * 1024,
        max_concurrent_manifest_fetches: int = 500,
    ) -> int:
        """Native chunk bytes only (deprecated in icechunk: use :meth:`chunk_storage_stats`)."""
        warnings.warn("total_chunks_storage is deprecated: use "
                      "chunk_storage_stats(...).native_bytes", DeprecationWarning, stacklevel=2)
        stats = await ops.chunk_storage_stats(self._state, self._assets,
                                              max_concurrent_manifest_fetches)
        return stats.native_bytes

    # ======================================================= status and flags
    # (frazil.ops._status)
    async def get_status_async(self) -> RepoStatus:
        """The repository's availability (online or read-only), when and why it was set."""
        return await ops.get_status(self._state)

    @property
    def status(self) -> RepoStatus:
        """The repository's current status (see :meth:`get_status`)."""
        return sync(self.get_status_async())

    async def set_status_async(self, status: RepoStatus) -> None:
        """Set the repository's status; a read-only repository refuses every write."""
        await ops.set_status(self._state, status)

    async def feature_flags_async(self) -> list[FeatureFlag]:
        """Every feature flag with its default, explicit setting and effective value."""
        return await ops.feature_flags(self._state)

    async def enabled_feature_flags_async(self) -> list[FeatureFlag]:
        """The feature flags in effect."""
        return [f for f in await ops.feature_flags(self._state) if f.enabled]

    async def disabled_feature_flags_async(self) -> list[FeatureFlag]:
        """The feature flags switched off."""
        return [f for f in await ops.feature_flags(self._state) if not f.enabled]

    async def set_feature_flag_async(self, name: str, setting: bool | None) -> None:
        """Enable (``True``), disable (``False``) or reset (``None``) the flag ``name``."""
        await ops.set_feature_flag(self._state, name, setting)

    # ============================================================ inspection
    # (frazil.ops._inspect: JSON-ready dicts shaped as icechunk's)
    async def inspect_snapshot_async(self, snapshot_id: str) -> dict[str, Any]:
        """The snapshot file ``snapshot_id``: header, time, message, manifests, node tree."""
        sid = _refs.parse_snapshot_id(snapshot_id)
        return await ops.inspect_snapshot(self._assets, sid)

    async def inspect_repo_info_async(self) -> dict[str, Any]:
        """The repo info file: refs, snapshots, metadata and the latest updates."""
        return await ops.inspect_repo_info(self._assets)

    async def inspect_manifest_async(self, manifest_id: str) -> dict[str, Any]:
        """The manifest file ``manifest_id``: size and chunk-ref counts by kind and array."""
        return await ops.inspect_manifest(self._assets, _refs.parse_snapshot_id(manifest_id))

    async def inspect_transaction_log_async(self, snapshot_id: str) -> dict[str, Any]:
        """What the commit ``snapshot_id`` changed (merged over expired ancestors, if any)."""
        sid = _refs.parse_snapshot_id(snapshot_id)
        rec = (await self._repo_info()).snapshots.get(sid)
        pruned = list(rec.pruned_ancestor_tx_logs or ()) if rec is not None else []
        return await ops.inspect_transaction_log(self._assets, sid, pruned)

    async def list_manifest_files_async(self, snapshot_id: str) -> list[ManifestFileInfo]:
        """The manifest files snapshot ``snapshot_id`` references."""
        snap = await self._assets.fetch_snapshot(_refs.parse_snapshot_id(snapshot_id))
        return [ManifestFileInfo(str(f.id), f.size_bytes, f.num_chunk_refs)
                for f in snap.manifest_files]

    # ================================================================ check
    async def check_async(self, *, progress: Any = None) -> ops.CheckReport:
        """Verify the repository's integrity without changing anything (frazil extra).

        Every ref, snapshot record and parent link, snapshot file, transaction
        log, manifest (and the size its snapshot recorded) and native chunk
        object (long enough for the ranges read from it) is checked; history
        cycles are detected; objects nothing references are listed as dangling.

        Parameters
        ----------
        progress
            Optional ``progress(phase, done, total)`` callback.

        Returns
        -------
        CheckReport
            ``ok`` is true when there are no problems; ``problems`` and
            ``dangling`` list what was found, one line each.
        """
        return await ops.check_repository(self._state, self._assets, progress=progress)

    # ======================================================= ancestry graph
    async def ancestry_graph_async(self, *, branch: str | None = None, tag: str | None = None,
                                   snapshot_id: str | None = None,
                                   plain: bool = False) -> ops.AncestryGraph:
        """A drawing of the history: every branch as a tree, or one ref's linear history.

        Parameters
        ----------
        branch, tag, snapshot_id
            At most one: draw that version's ancestry. None: every branch.
        plain
            No colours (no ANSI codes in the text, no fills in the SVG).

        Returns
        -------
        AncestryGraph
            ``print()`` it in a terminal; notebooks display its SVG.
        """
        info = await self._repo_info()
        tip = None
        if (branch, tag, snapshot_id) != (None, None, None):
            tip = await self._resolve(info, branch, tag, snapshot_id)
        return ops.build_graph(info, tip, plain, branch if branch is not None else "")

    # ===================================================== rewrite manifests
    async def rewrite_manifests_async(self, message: str, *, branch: str,
                                      metadata: dict[str, Any] | None = None,
                                      commit_method: str = "new_commit") -> str:
        """Rewrite every array's manifests on ``branch`` (current split config) and commit.

        Parameters
        ----------
        message
            The commit message.
        branch
            The branch to rewrite and commit to.
        metadata
            Commit metadata; the split configuration in effect is recorded
            under ``__icechunk.splitting_config``, as icechunk does.
        commit_method
            ``"new_commit"`` (default) or ``"amend"`` (replace the tip instead).

        Returns
        -------
        str
            The new snapshot id.
        """
        if commit_method not in ("new_commit", "amend"):
            raise InvalidInputError(f"commit_method must be 'new_commit' or 'amend', "
                                    f"not {commit_method!r}")
        md = copy.deepcopy(dict(metadata or {}))
        internal = dict(md.get("__icechunk", {}))
        internal["splitting_config"] = ops.splitting_config_json(self._config._to_dict())
        md["__icechunk"] = internal
        session = await self.writable_session_async(branch)
        session._rewrite_all_manifests = True
        log.info("rewrite_manifests: rewriting branch %r", branch)
        if commit_method == "amend":
            return await session.amend_async(message, metadata=md, allow_empty=True)
        return await session.commit_async(message, md, allow_empty=True)
