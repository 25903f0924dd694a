"""Async object storage: the :class:`Storage` interface and the built-in backends.

Backends: :func:`in_memory_storage` and :func:`local_filesystem_storage` ship
with the kernel; others (S3, GCS, Azure, HTTP) are plugins, reached through
:func:`storage_from_url` or their own distribution's factories.
"""

from __future__ import annotations

from frazil.storage._base import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ObjectInfo,
    Storage,
    StorageObjectInfo,
    VersionToken,
    normalize_byte_range,
    redact_url,
    resolve_byte_range,
    storage_settings_overrides,
    validate_path,
)
from frazil.storage._errors import ConditionFailedError, ObjectNotFoundError
from frazil.storage._local import LocalFileSystemStorage
from frazil.storage._memory import InMemoryStorage
from frazil.storage._names import (  # icechunk.storage's other names
    AnyObjectStoreConfig,
    ChunkType,
    ObjectStoreConfig,
    StorageConcurrencySettings,
    StorageRetriesSettings,
    StorageSettings,
    StorageTimeoutSettings,
    __getattr__,  # noqa: F401 - the module-level hook (PEP 562) for the backends' names
    local_filesystem_store,
)
from frazil.storage._prefixed import PrefixedStorage
from frazil.storage._retry import (
    RetrySettings,
    SecretRedactor,
    call_with_retries,
    in_thread_pool,
    thread_pool,
)
from frazil.storage._url import storage_from_url

__all__ = [
    "DEFAULT_MAX_CONCURRENT_REQUESTS",
    "AnyObjectStoreConfig",
    "ByteRange",
    "ChunkType",
    "ConditionFailedError",
    "InMemoryStorage",
    "LocalFileSystemStorage",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectStoreConfig",
    "PrefixedStorage",
    "RetrySettings",
    "SecretRedactor",
    "Storage",
    "StorageConcurrencySettings",
    "StorageObjectInfo",
    "StorageRetriesSettings",
    "StorageSettings",
    "StorageTimeoutSettings",
    "VersionToken",
    "call_with_retries",
    "in_memory_storage",
    "local_filesystem_storage",
    "local_filesystem_store",
    "normalize_byte_range",
    "redact_url",
    "resolve_byte_range",
    "storage_from_url",
    "storage_settings_overrides",
    "in_thread_pool",
    "thread_pool",
    "validate_path",
]


def in_memory_storage() -> Storage:
    """A new, empty storage held in this process's memory (icechunk's name)."""
    return InMemoryStorage()


def local_filesystem_storage(path: str) -> Storage:
    """Storage in the local directory ``path``, laid out as icechunk lays it out.

    Safe for concurrent writers across processes (see
    :class:`LocalFileSystemStorage`).
    """
    return LocalFileSystemStorage(path)


# icechunk's constructors on ``Storage`` for the kernel's own backends; the
# others (``Storage.new_s3``...) come from their distributions through the plugins
@classmethod  # type: ignore[misc]
def _new_in_memory(cls: type) -> Storage:
    """icechunk's ``Storage.new_in_memory()``."""
    return in_memory_storage()


@classmethod  # type: ignore[misc]
def _new_local_filesystem(cls: type, path: str) -> Storage:
    """icechunk's ``Storage.new_local_filesystem(path)``."""
    return local_filesystem_storage(path)


Storage.new_in_memory = _new_in_memory  # type: ignore[attr-defined]
Storage.new_local_filesystem = _new_local_filesystem  # type: ignore[attr-defined]

