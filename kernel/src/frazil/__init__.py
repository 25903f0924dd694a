"""frazil: a pure-Python, pluggable implementation of the Icechunk storage format.

``import frazil as ic`` works where ``import icechunk as ic`` worked for the
surface frazil implements: repositories, branches, tags, history, sessions and
the zarr store, on the same bytes on disk (spec version 2).
"""

from __future__ import annotations

from frazil._errors import (
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
from frazil.config import RepositoryConfig
from frazil.conflicts import (
    Conflict,
    ConflictDetector,
    ConflictSolver,
    ConflictType,
    VersionSelection,
)
from frazil.repository import Repository
from frazil.session import Session
from frazil.snapshots import Diff, ManifestFileInfo, SnapshotInfo, Update
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
    "VersionSelection",
    "VirtualChunkContainer",
    "VirtualChunkSpec",
    "__version__",
    "in_memory_storage",
    "local_filesystem_storage",
    "local_filesystem_store",
    "spec_version",
    "storage_from_url",
]


def spec_version() -> int:
    """The Icechunk spec version frazil writes."""
    return 2


# icechunk's storage factories that live in optional frazil distributions
_OPTIONAL: dict[str, tuple[str, str]] = {
    **{n: ("frazil_s3", "frazil-s3") for n in ("s3_storage", "s3_store", "tigris_storage",
                                           "r2_storage", "ChecksumAlgorithm")},
    **{n: ("frazil_gcs", "frazil-gcs") for n in ("gcs_storage", "gcs_store")},
    **{n: ("frazil_azure", "frazil-azure") for n in ("azure_storage",)},
    **{n: ("frazil_http", "frazil-http") for n in ("http_storage", "http_store",
                                               "redirect_storage")},
}


def __getattr__(name: str) -> object:
    # solvers of the optional frazil-conflict-solvers distribution, e.g. BasicConflictSolver
    from frazil import conflicts

    if name in conflicts.SOLVER_NAMES:
        return getattr(conflicts, name)
    if name in _OPTIONAL:
        module, dist = _OPTIONAL[name]
        import importlib

        try:
            return getattr(importlib.import_module(module), name)
        except ImportError:
            raise AttributeError(f"frazil.{name} needs the {dist} distribution: "
                                 f"pip install {dist}") from None
    raise AttributeError(f"module 'frazil' has no attribute {name!r}")
