"""The frazil exception tree, mirroring icechunk's (public: plugins raise these).

::

    IcechunkError
    ├── ConflictError
    │   └── RebaseFailedError
    ├── NotFoundError                 (also a KeyError)
    │   ├── NodeNotFoundError
    │   ├── SnapshotNotFoundError
    │   ├── RefNotFoundError
    │   └── RepositoryNotFoundError
    ├── AlreadyExistsError
    ├── ReadOnlyError
    ├── InvalidInputError             (also a ValueError)
    ├── SessionStateError
    ├── StorageError
    ├── FormatError
    └── InternalError

Every instance has ``message`` (also ``str(e)``) and ``kind``, a stable code
from :class:`ErrorKind` (the same strings icechunk uses). A kind that is not
an :class:`ErrorKind` member is refused when the error is built, so the list
below is the whole vocabulary. Every error pickles (errors cross process
boundaries in multi-process writers and Dask workers).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "AlreadyExistsError",
    "ConflictError",
    "ErrorKind",
    "FormatError",
    "IcechunkError",
    "InternalError",
    "InvalidInputError",
    "InvalidRangeError",
    "InvalidTypeError",
    "NodeNotFoundError",
    "NotFoundError",
    "ReadOnlyError",
    "RebaseFailedError",
    "RefNotFoundError",
    "RepositoryNotFoundError",
    "SessionStateError",
    "SnapshotNotFoundError",
    "StorageError",
]


class ErrorKind(StrEnum):
    """Stable machine-readable codes carried in ``IcechunkError.kind``."""

    COMMIT_CONFLICT = "commit-conflict"
    BRANCH_UPDATE_CONFLICT = "branch-update-conflict"
    REBASE_FAILED = "rebase-failed"
    REPO_INFO_UPDATED = "repo-info-updated"
    UPDATE_ATTEMPTS_EXHAUSTED = "update-attempts-exhausted"
    NODE_NOT_FOUND = "node-not-found"
    CHUNK_NOT_FOUND = "chunk-not-found"
    KEY_NOT_FOUND = "key-not-found"
    SNAPSHOT_NOT_FOUND = "snapshot-not-found"
    NO_SNAPSHOT_AT_TIME = "no-snapshot-at-time"
    REF_NOT_FOUND = "ref-not-found"
    BRANCH_NOT_FOUND = "branch-not-found"
    TAG_NOT_FOUND = "tag-not-found"
    REPOSITORY_NOT_FOUND = "repository-not-found"
    NODE_ALREADY_EXISTS = "node-already-exists"
    BRANCH_ALREADY_EXISTS = "branch-already-exists"
    TAG_ALREADY_EXISTS = "tag-already-exists"
    TAG_PREVIOUSLY_DELETED = "tag-previously-deleted"
    READ_ONLY_SESSION = "read-only-session"
    READ_ONLY_STORE = "read-only-store"
    INVALID_KEY = "invalid-key"
    INVALID_CHUNK_INDEX = "invalid-chunk-index"
    INVALID_REF_NAME = "invalid-ref-name"
    INVALID_SNAPSHOT_ID = "invalid-snapshot-id"
    INVALID_PATH = "invalid-path"
    BAD_METADATA = "bad-metadata"
    NOT_AN_ARRAY = "not-an-array"
    NOT_A_GROUP = "not-a-group"
    INVALID_BYTE_RANGE = "invalid-byte-range"
    INVALID_ARRAY_METADATA = "invalid-array-metadata"
    COMMIT_NOT_ALLOWED = "commit-not-allowed"
    NO_CHANGES_TO_COMMIT = "no-changes-to-commit"
    NOT_ON_BRANCH = "not-on-branch"
    CANNOT_DELETE_MAIN = "cannot-delete-main"
    UNCOMMITTED_CHANGES = "uncommitted-changes"
    OBJECT_NOT_FOUND = "object-not-found"
    OBJECT_STORE = "object-store"
    IO = "io"
    STORAGE_CONFIG = "storage-config"
    CANNOT_PARSE_URL = "cannot-parse-url"
    STORAGE_OTHER = "storage-other"
    SERIALIZATION = "serialization"
    DESERIALIZATION = "deserialization"
    CONFIG_DESERIALIZATION = "config-deserialization"
    INVALID_FILE_FORMAT = "invalid-file-format"
    UNSUPPORTED_SPEC_VERSION = "unsupported-spec-version"
    INVALID_REPOSITORY_MIGRATION = "invalid-repository-migration"
    PLUGIN_NOT_FOUND = "plugin-not-found"
    PLUGIN_CONFLICT = "plugin-conflict"
    CONCURRENCY = "concurrency"
    REPOSITORY_ALREADY_EXISTS = "repository-already-exists"
    PARENT_DIRECTORY_NOT_CLEAN = "parent-directory-not-clean"
    INVALID_VIRTUAL_CHUNK_CONTAINER = "invalid-virtual-chunk-container"
    NO_CONTAINER_FOR_VIRTUAL_CHUNK = "no-container-for-virtual-chunk"
    UNAUTHORIZED_VIRTUAL_CHUNK_CONTAINER = "unauthorized-virtual-chunk-container"
    VIRTUAL_CHUNK_FETCH = "virtual-chunk-fetch"
    VIRTUAL_CHUNK_MODIFIED = "virtual-chunk-modified"
    REPOSITORY_STATE_CYCLE = "repository-state-cycle"
    # rearrange sessions (moves) and chunk reindexing
    MOVE_WONT_OVERWRITE = "move-wont-overwrite"
    REARRANGE_SESSION_ONLY = "rearrange-session-only"
    NON_REARRANGE_SESSION = "non-rearrange-session"
    MOVE_INTO_SELF_OR_DESCENDANT = "move-into-self-or-descendant"
    MOVE_DESTINATION_PARENT_MISSING = "move-destination-parent-missing"
    MOVE_DESTINATION_PARENT_NOT_GROUP = "move-destination-parent-not-group"
    # icechunk 2.3's remaining codes (same names and strings)
    CONFIG_UPDATED = "config-updated"
    GC_DELETES_FAILING = "gc-deletes-failing"
    ANCESTOR_NODE_NOT_FOUND = "ancestor-node-not-found"
    MANIFEST_INFO_NOT_FOUND = "manifest-info-not-found"
    READ_ONLY_STORAGE = "read-only-storage"
    READ_ONLY_REPOSITORY = "read-only-repository"
    ZERO_LENGTH_CHUNK = "zero-length-chunk"
    INVALID_MANIFEST_SPLIT_INDEX = "invalid-manifest-split-index"
    INVALID_REF_TYPE = "invalid-ref-type"
    BAD_KEY_PREFIX = "bad-key-prefix"
    BAD_PREFIX = "bad-prefix"
    INVALID_COMMIT_CONFIGURATION = "invalid-commit-configuration"
    INVALID_FEATURE_FLAG = "invalid-feature-flag"
    INVALID_VIRTUAL_REF = "invalid-virtual-ref"
    INVALID_CREDENTIALS = "invalid-credentials"
    EMPTY_PREFIX_CREATION = "empty-prefix-creation"
    BAD_SNAPSHOT_CHAIN_FOR_DIFF = "bad-snapshot-chain-for-diff"
    MERGE_NOT_ALLOWED = "merge-not-allowed"
    CANNOT_FORK_READ_ONLY_SESSION = "cannot-fork-read-only-session"
    NO_AMEND_FOR_INITIAL_COMMIT = "no-amend-for-initial-commit"
    NO_SNAPSHOT = "no-snapshot"
    MERGE_FAILED = "merge-failed"
    NOT_ALLOWED = "not-allowed"
    UNIMPLEMENTED = "unimplemented"
    REBASE_TX_LOG_PRUNED = "rebase-tx-log-pruned"
    FEATURE_FLAG_DISABLED = "feature-flag-disabled"
    TAG_ERROR = "tag-error"
    BAD_REDIRECT = "bad-redirect"
    SEMAPHORE_ACQUIRE = "semaphore-acquire"
    THROTTLED = "throttled"
    INVALID_OBJECT_SIZE = "invalid-object-size"
    UNSUPPORTED_OPERATION_FOR_VERSION = "unsupported-operation-for-version"
    SNAPSHOT_TIMESTAMP = "snapshot-timestamp"
    DUPLICATE_SNAPSHOT_ID = "duplicate-snapshot-id"
    FLUSH = "flush"
    PARTIAL_VALUES_PANIC = "partial-values-panic"
    CONFLICTING_PATH_NOT_FOUND = "conflicting-path-not-found"
    INCONSISTENT_MANIFESTS = "inconsistent-manifests"
    POISON_LOCK = "poison-lock"
    PICKLE = "pickle"
    UNKNOWN_FEATURE_FLAG = "unknown-feature-flag"
    UNKNOWN = "unknown"


class IcechunkError(Exception):
    """Root of every error frazil raises."""

    default_kind: ErrorKind = ErrorKind.UNKNOWN

    def __init__(self, message: str = "", kind: str | None = None) -> None:
        super().__init__(message)
        self._message = message
        # ErrorKind(...) refuses codes outside the vocabulary (a ValueError at the raise site)
        self._kind = ErrorKind(kind if kind is not None else self.default_kind)

    def __reduce__(self) -> tuple[Any, ...]:
        # subclasses take other constructor arguments: rebuild from the state instead
        return _restore, (type(self), self.__dict__.copy())

    @property
    def message(self) -> str:
        return self._message

    @property
    def kind(self) -> ErrorKind:
        return self._kind

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self._message


class NotFoundError(IcechunkError, KeyError):
    """Something that was asked for does not exist (also a ``KeyError``)."""

    default_kind = ErrorKind.KEY_NOT_FOUND


class NodeNotFoundError(NotFoundError):
    """A group, array or chunk does not exist at the given path."""

    default_kind = ErrorKind.NODE_NOT_FOUND


class SnapshotNotFoundError(NotFoundError):
    """No snapshot exists with the given id (or at the given time)."""

    default_kind = ErrorKind.SNAPSHOT_NOT_FOUND


class RefNotFoundError(NotFoundError):
    """No branch or tag exists with the given name."""

    default_kind = ErrorKind.REF_NOT_FOUND


class RepositoryNotFoundError(NotFoundError):
    """No repository exists at the given storage location."""

    default_kind = ErrorKind.REPOSITORY_NOT_FOUND


class AlreadyExistsError(IcechunkError):
    """Something being created already exists (node, branch, tag, repository)."""


class ReadOnlyError(IcechunkError):
    """A write through a read-only session, store or repository."""

    default_kind = ErrorKind.READ_ONLY_SESSION


class InvalidInputError(IcechunkError, ValueError):
    """An argument, key, name, path or id is invalid (also a ``ValueError``)."""


class InvalidTypeError(InvalidInputError, TypeError):
    """A config value of the wrong type: also a ``TypeError``, which icechunk raises there."""


class InvalidRangeError(InvalidInputError, OverflowError):
    """A config integer out of range (negative where icechunk takes an unsigned integer):
    also an ``OverflowError``, which icechunk raises there."""


class SessionStateError(IcechunkError):
    """The operation is not allowed in the session's or repository's state."""


class StorageError(IcechunkError):
    """The storage backend failed or is misconfigured."""

    default_kind = ErrorKind.STORAGE_OTHER


class FormatError(IcechunkError):
    """On-disk data is corrupt, truncated, or of an unsupported spec version."""

    default_kind = ErrorKind.DESERIALIZATION


class InternalError(IcechunkError):
    """An unexpected internal error: a frazil bug."""


class ConflictError(IcechunkError):
    """The branch moved since the session started (or another conflict)."""

    default_kind = ErrorKind.COMMIT_CONFLICT

    def __init__(
        self,
        expected_parent: str | None = None,
        actual_parent: str | None = None,
        message: str | None = None,
        kind: str | None = None,
    ) -> None:
        if message is None:
            message = (
                f"branch tip changed: expected parent {expected_parent}, "
                f"actual parent {actual_parent}"
            )
        super().__init__(message, kind)
        self._expected_parent = expected_parent
        self._actual_parent = actual_parent

    @property
    def expected_parent(self) -> str | None:
        return self._expected_parent

    @property
    def actual_parent(self) -> str | None:
        return self._actual_parent


class RebaseFailedError(ConflictError):
    """A rebase found conflicts its solver could not resolve."""

    def __init__(self, snapshot: str, conflicts: list[Any]) -> None:
        super().__init__(
            message=f"Rebase failed on snapshot {snapshot}: {len(conflicts)} conflicts found",
            kind=ErrorKind.REBASE_FAILED,
        )
        self._snapshot = snapshot
        self._conflicts = list(conflicts)

    @property
    def snapshot(self) -> str:
        return self._snapshot

    @property
    def conflicts(self) -> list[Any]:
        return list(self._conflicts)

    def __repr__(self) -> str:  # icechunk's text, conflicts in its debug notation
        items = ", ".join(getattr(c, "_debug_text", c.__repr__)() for c in self._conflicts)
        return f'frazil.RebaseFailedError(snapshot="{self._snapshot}", conflicts=[{items}])'


def _restore(cls: type[IcechunkError], state: dict[str, Any]) -> IcechunkError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("_message", ""))
    err.__dict__.update(state)
    return err


for _cls in (IcechunkError, NotFoundError, NodeNotFoundError, SnapshotNotFoundError,
             RefNotFoundError, RepositoryNotFoundError, AlreadyExistsError, ReadOnlyError,
             InvalidInputError, SessionStateError, StorageError, FormatError, InternalError,
             ConflictError, RebaseFailedError):
    _cls.__module__ = "frazil"
