"""``upgrade_icechunk_repository``: spec version 1 to 2, metadata only."""

from __future__ import annotations

from frazil._sync import sync
from frazil.format.versions import SpecVersion
from frazil.ops._upgrade import upgrade_v1_to_v2
from frazil.repository import Repository

__all__ = ["supported_spec_versions", "upgrade_icechunk_repository",
           "upgrade_icechunk_repository_async"]


def supported_spec_versions() -> list[SpecVersion]:
    """The spec versions frazil reads and writes, newest first."""
    return [SpecVersion.v2, SpecVersion.v1]


async def upgrade_icechunk_repository_async(
    repo: Repository,
    *,
    dry_run: bool,
    delete_unused_v1_files: bool = True,
    prefetch_concurrency: int | None = None,
) -> Repository:
    """Async form of :func:`upgrade_icechunk_repository` (a frazil extra)."""
    storage = repo.storage
    await upgrade_v1_to_v2(storage, dry_run=dry_run,
                           delete_unused_v1_files=delete_unused_v1_files)
    if dry_run:
        return await Repository.open_async(storage, repo.config, repo._authorized)
    new = await Repository.open_async(storage, repo.config, repo._authorized)
    # the old handle follows the upgrade instead of writing v1 refs into a v2 repository
    repo.__setstate__({**new.__getstate__(),
                       "default_commit_metadata": repo.default_commit_metadata(),
                       "manifest_split_policy": repo.manifest_split_policy})
    return new


def upgrade_icechunk_repository(
    repo: Repository,
    *,
    dry_run: bool,
    delete_unused_v1_files: bool = True,
    prefetch_concurrency: int | None = None,
) -> Repository:
    """Upgrade a spec-version-1 repository to spec version 2.

    An administrative operation: run it with no other reader or writer on
    the repository. Only metadata is written: the new ``repo`` file (with
    every branch, tag, deleted tag and reachable snapshot, a reconstructed
    ops log and the persisted configuration); no snapshot, manifest or chunk
    is rewritten. Until the ``repo`` file is written the repository is
    unchanged, so an interrupted upgrade can simply be run again; a run on an
    upgraded repository with v1 files left only deletes them.

    Parameters
    ----------
    repo
        The repository to upgrade.
    dry_run
        If True, compute the upgrade and change nothing.
    delete_unused_v1_files
        Delete the v1 refs and ``config.yaml`` once upgraded (default True).
    prefetch_concurrency
        Accepted for compatibility with icechunk; frazil reads snapshots
        concurrently, bounded by the storage.

    Returns
    -------
    Repository
        The repository opened afresh (spec version 2 unless ``dry_run``).
        After a real upgrade ``repo`` itself also points at the upgraded
        repository.

    Raises
    ------
    SessionStateError
        ``INVALID_REPOSITORY_MIGRATION`` if ``repo`` is not a spec-v1 repository.
    """
    return sync(upgrade_icechunk_repository_async(
        repo, dry_run=dry_run, delete_unused_v1_files=delete_unused_v1_files,
        prefetch_concurrency=prefetch_concurrency))
