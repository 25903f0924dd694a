"""frazil: a pure-Python, pluggable implementation of the Icechunk storage format.

``import frazil as ic`` works where ``import icechunk as ic`` worked for the
surface frazil implements: repositories, branches, tags, history, sessions and
the zarr store, on the same bytes on disk (spec version 2).
"""

from __future__ import annotations

from frazil import credentials, errors, ops, types
from frazil.config import RepositoryConfig
from frazil.conflicts import (
    Conflict,
    ConflictDetector,
    ConflictSolver,
    ConflictType,
    VersionSelection,
)
from frazil.credentials import containers_credentials
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
from frazil.ops import (
    FeatureFlag,
    GCSummary,
    RepoAvailability,
    RepoStatus,
    Update,
    UpdateType,
)
from frazil.plugins import KNOWN_PROVIDERS, PluginNotFoundError, get_plugins
from frazil.repository import Repository
from frazil.session import Session
from frazil.snapshots import Diff, ManifestFileInfo, SnapshotInfo
from frazil.storage import Storage, in_memory_storage, local_filesystem_storage, storage_from_url
from frazil.store import IcechunkStore
from frazil.virtual import (
    ChunkType,
    ObjectStoreConfig,
    VirtualChunkContainer,
    VirtualChunkSpec,
    local_filesystem_store,
)

__version__ = "2.0.0.dev0"

__all__ = [
    "AlreadyExistsError",
    "ChunkType",
    "Conflict",
    "ConflictDetector",
    "ConflictError",
    "ConflictSolver",
    "ConflictType",
    "Diff",
    "ErrorKind",
    "FormatError",
    "IcechunkError",
    "IcechunkStore",
    "InternalError",
    "InvalidInputError",
    "ManifestFileInfo",
    "NodeNotFoundError",
    "NotFoundError",
    "ObjectStoreConfig",
    "ReadOnlyError",
    "RebaseFailedError",
    "RefNotFoundError",
    "Repository",
    "RepositoryConfig",
    "RepositoryNotFoundError",
    "Session",
    "SessionStateError",
    "SnapshotInfo",
    "SnapshotNotFoundError",
    "Storage",
    "StorageError",
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
    "ops",
    "types",
    "in_memory_storage",
    "local_filesystem_storage",
    "local_filesystem_store",
    "spec_version",
    "storage_from_url",
]


def spec_version() -> int:
    """The Icechunk spec version frazil writes."""
    return 2


def __getattr__(name: str) -> object:
    # names that installed distributions add (s3_storage, BasicConflictSolver, ...)
    try:
        return get_plugins().public_name("frazil", name)
    except PluginNotFoundError:
        pass
    dist = KNOWN_PROVIDERS["name"].get(f"frazil.{name}")
    hint = f": it needs the {dist} distribution (pip install {dist})" if dist else ""
    raise AttributeError(f"module 'frazil' has no attribute {name!r}{hint}")
