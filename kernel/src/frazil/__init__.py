"""frazil: a pure-Python, pluggable implementation of the Icechunk storage format.

``import frazil as ic`` works where ``import icechunk as ic`` worked for the
surface frazil implements: repositories, branches, tags, history, sessions and
the zarr store, on the same bytes on disk (spec version 2).
"""

from __future__ import annotations

from frazil import credentials, errors, ops, types
from frazil._logs import (
    Attribution,
    initialize_logs,
    print_debug_info,
    set_logs_filter,
    shutdown_telemetry,
    user_agent,
)
from frazil.config import (
    CachingConfig,
    CompressionAlgorithm,
    CompressionConfig,
    ManifestConfig,
    ManifestPreloadCondition,
    ManifestPreloadConfig,
    ManifestSplitCondition,
    ManifestSplitDimCondition,
    ManifestSplittingConfig,
    ManifestVirtualChunkLocationCompressionConfig,
    RepositoryConfig,
    StorageConcurrencySettings,
    StorageRetriesSettings,
    StorageSettings,
    StorageTimeoutSettings,
)
from frazil.conflicts import (
    Conflict,
    ConflictDetector,
    ConflictSolver,
    ConflictType,
    VersionSelection,
)
from frazil.credentials import AnyCredential, Credentials, containers_credentials
from frazil.errors import (
    AlreadyExistsError,
    ConflictError,
    ErrorKind,
    FormatError,
    IcechunkError,
    InternalError,
    InvalidInputError,
    NodeNotFoundError,
    NotFoundError,
    ReadOnlyError,
    RebaseFailedError,
    RefNotFoundError,
    RepositoryNotFoundError,
    SessionStateError,
    SnapshotNotFoundError,
    StorageError,
)
from frazil.format.versions import SpecVersion
from frazil.ops import (
    AncestryGraph,
    FeatureFlag,
    GCSummary,
    RepoAvailability,
    RepoStatus,
    Update,
    UpdateType,
)
from frazil.plugins import KNOWN_PROVIDERS, PluginNotFoundError, get_plugins
from frazil.repository import Repository
from frazil.session import ForkSession, Session
from frazil.snapshots import Diff, ManifestFileInfo, SnapshotInfo
from frazil.storage import Storage, in_memory_storage, local_filesystem_storage, storage_from_url
from frazil.store import IcechunkStore
from frazil.types import CommitMethod, SessionMode
from frazil.upgrade import supported_spec_versions, upgrade_icechunk_repository
from frazil.virtual import (
    AnyObjectStoreConfig,
    ChunkType,
    ObjectStoreConfig,
    VirtualChunkContainer,
    VirtualChunkSpec,
    local_filesystem_store,
)

__version__ = "2.0.0.dev0"

__all__ = [
    "AncestryGraph",
    "AlreadyExistsError",
    "AnyCredential",
    "AnyObjectStoreConfig",
    "Attribution",
    "CachingConfig",
    "ChunkType",
    "CommitMethod",
    "CompressionAlgorithm",
    "CompressionConfig",
    "Conflict",
    "ConflictDetector",
    "ConflictError",
    "ConflictSolver",
    "ConflictType",
    "Credentials",
    "Diff",
    "ErrorKind",
    "FormatError",
    "IcechunkError",
    "IcechunkStore",
    "InternalError",
    "InvalidInputError",
    "ManifestConfig",
    "ManifestFileInfo",
    "ManifestPreloadCondition",
    "ManifestPreloadConfig",
    "ManifestSplitCondition",
    "ManifestSplitDimCondition",
    "ManifestSplittingConfig",
    "ManifestVirtualChunkLocationCompressionConfig",
    "NodeNotFoundError",
    "NotFoundError",
    "ObjectStoreConfig",
    "ReadOnlyError",
    "RebaseFailedError",
    "RefNotFoundError",
    "Repository",
    "RepositoryConfig",
    "RepositoryNotFoundError",
    "ForkSession",
    "Session",
    "SessionMode",
    "SessionStateError",
    "SnapshotInfo",
    "SnapshotNotFoundError",
    "SpecVersion",
    "Storage",
    "StorageConcurrencySettings",
    "StorageError",
    "StorageRetriesSettings",
    "StorageSettings",
    "StorageTimeoutSettings",
    "Update",
    "UpdateType",
    "FeatureFlag",
    "GCSummary",
    "RepoAvailability",
    "RepoStatus",
    "VersionSelection",
    "VirtualChunkContainer",
    "VirtualChunkSpec",
    "__version__",
    "containers_credentials",
    "credentials",
    "errors",
    "in_memory_storage",
    "initialize_logs",
    "local_filesystem_storage",
    "local_filesystem_store",
    "ops",
    "print_debug_info",
    "set_logs_filter",
    "shutdown_telemetry",
    "spec_version",
    "storage_from_url",
    "supported_spec_versions",
    "types",
    "upgrade_icechunk_repository",
    "user_agent",
]


def spec_version() -> SpecVersion:
    """The Icechunk spec version frazil writes by default (it also reads and writes v1)."""
    return SpecVersion.current()


def __getattr__(name: str) -> object:
    # names that installed distributions add (s3_storage, BasicConflictSolver, ...)
    try:
        return get_plugins().public_name("frazil", name)
    except PluginNotFoundError:
        pass
    dist = KNOWN_PROVIDERS["name"].get(f"frazil.{name}")
    hint = f": it needs the {dist} distribution (pip install {dist})" if dist else ""
    raise AttributeError(f"module 'frazil' has no attribute {name!r}{hint}")
