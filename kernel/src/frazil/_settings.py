"""icechunk's configuration records: compression, caching, storage settings, manifests.

Each serializes to the dict the persisted repository config holds (the form
icechunk writes); see :mod:`frazil._records`.
"""

from __future__ import annotations

from enum import Enum, EnumType
from typing import Any, ClassVar

from frazil._records import Record, make_properties

__all__ = [
    "CachingConfig",
    "CompressionAlgorithm",
    "CompressionConfig",
    "ManifestVirtualChunkLocationCompressionConfig",
    "RepoUpdateRetryConfig",
    "StorageConcurrencySettings",
    "StorageRetriesSettings",
    "StorageSettings",
    "StorageTimeoutSettings",
]


_DEFAULT: Any = object()


class _DefaultingEnumType(EnumType):
    """``CompressionAlgorithm()`` with no value is the default algorithm, as in icechunk."""

    def __call__(cls, value: Any = _DEFAULT, *args: Any, **kwargs: Any) -> Any:
        if value is _DEFAULT and not args and not kwargs:
            return cls.default()  # type: ignore[attr-defined]
        return super().__call__(value, *args, **kwargs)


class CompressionAlgorithm(Enum, metaclass=_DefaultingEnumType):
    """Compression algorithm of metadata files (icechunk's ``CompressionAlgorithm``)."""

    Zstd = 0

    @staticmethod
    def default() -> CompressionAlgorithm:
        return CompressionAlgorithm.Zstd

    def __repr__(self) -> str:
        return f"CompressionAlgorithm.{self.name}"

    __str__ = __repr__


@make_properties
class CompressionConfig(Record):
    """Metadata compression settings."""

    __slots__ = ()
    _fields: ClassVar[dict[str, Any]] = {"algorithm": CompressionAlgorithm, "level": "u8"}
    _defaults: ClassVar[dict[str, Any]] = {"algorithm": CompressionAlgorithm.Zstd, "level": 3}

    def __init__(self, algorithm: CompressionAlgorithm | None = None,
                 level: int | None = None) -> None:
        self._init(locals())

    @staticmethod
    def default() -> CompressionConfig:
        return CompressionConfig()

    def _encode(self, name: str, value: Any) -> Any:
        return value.name.lower() if isinstance(value, CompressionAlgorithm) else value

    def _decode(self, name: str, raw: Any) -> Any:
        if name == "algorithm" and isinstance(raw, str):
            return CompressionAlgorithm[raw.capitalize()]
        return raw


@make_properties
class CachingConfig(Record):
    """Sizes of the in-memory caches."""

    __slots__ = ()
    _fields: ClassVar[dict[str, Any]] = dict.fromkeys(
        ("num_snapshot_nodes", "num_chunk_refs", "num_transaction_changes",
         "num_bytes_attributes", "num_bytes_chunks"), "int")
    _defaults: ClassVar[dict[str, Any]] = {
        "num_snapshot_nodes": 500_000, "num_chunk_refs": 15_000_000,
        "num_transaction_changes": 0, "num_bytes_attributes": 0, "num_bytes_chunks": 0}

    def __init__(self, num_snapshot_nodes: int | None = None, num_chunk_refs: int | None = None,
                 num_transaction_changes: int | None = None,
                 num_bytes_attributes: int | None = None,
                 num_bytes_chunks: int | None = None) -> None:
        self._init(locals())

    @staticmethod
    def default() -> CachingConfig:
        return CachingConfig()


@make_properties
class StorageRetriesSettings(Record):
    """Retry policy of a storage's requests."""

    __slots__ = ()
    _module = "frazil.storage"
    _fields: ClassVar[dict[str, Any]] = dict.fromkeys(
        ("max_tries", "initial_backoff_ms", "max_backoff_ms"), "int")
    _defaults: ClassVar[dict[str, Any]] = {"max_tries": 10, "initial_backoff_ms": 100,
                                           "max_backoff_ms": 180_000}

    def __init__(self, max_tries: int | None = None, initial_backoff_ms: int | None = None,
                 max_backoff_ms: int | None = None) -> None:
        self._init(locals())


@make_properties
class RepoUpdateRetryConfig(Record):
    """Retries of the repository-info update when another writer moved it first (icechunk's
    ``RepositoryConfig.repo_update_retries``)."""

    __slots__ = ()
    _module = "frazil.config"
    _fields: ClassVar[dict[str, Any]] = {"default": StorageRetriesSettings}

    def __init__(self, default: StorageRetriesSettings | None = None) -> None:
        self._init(locals())


@make_properties
class StorageTimeoutSettings(Record):
    """Timeouts of a storage's requests."""

    __slots__ = ()
    _module = "frazil.storage"
    _fields: ClassVar[dict[str, Any]] = dict.fromkeys(
        ("connect_timeout_ms", "read_timeout_ms", "operation_timeout_ms",
         "operation_attempt_timeout_ms"), "int")

    def __init__(self, connect_timeout_ms: int | None = None, read_timeout_ms: int | None = None,
                 operation_timeout_ms: int | None = None,
                 operation_attempt_timeout_ms: int | None = None) -> None:
        self._init(locals())


@make_properties
class StorageConcurrencySettings(Record):
    """How one large object is fetched with concurrent ranged requests."""

    __slots__ = ()
    _module = "frazil.storage"
    _fields: ClassVar[dict[str, Any]] = dict.fromkeys(
        ("max_concurrent_requests_for_object", "ideal_concurrent_request_size"), "int")
    _defaults: ClassVar[dict[str, Any]] = {"max_concurrent_requests_for_object": 18,
                                           "ideal_concurrent_request_size": 12_582_912}

    def __init__(self, max_concurrent_requests_for_object: int | None = None,
                 ideal_concurrent_request_size: int | None = None) -> None:
        self._init(locals())


@make_properties
class StorageSettings(Record):
    """Storage behaviour persisted in the repository config (icechunk's ``StorageSettings``)."""

    __slots__ = ()
    _module = "frazil.storage"
    _fields: ClassVar[dict[str, Any]] = {
        "unsafe_use_conditional_create": "bool", "unsafe_use_conditional_update": "bool",
        "unsafe_use_metadata": "bool", "storage_class": "str", "metadata_storage_class": "str",
        "chunks_storage_class": "str", "minimum_size_for_multipart_upload": "int",
        "concurrency": StorageConcurrencySettings, "retries": StorageRetriesSettings,
        "timeouts": StorageTimeoutSettings}
    _defaults: ClassVar[dict[str, Any]] = {
        "unsafe_use_conditional_create": True, "unsafe_use_conditional_update": True,
        "unsafe_use_metadata": True, "minimum_size_for_multipart_upload": 104_857_600}
    _default_instances = ("concurrency", "retries")

    def __init__(self, concurrency: StorageConcurrencySettings | None = None,
                 retries: StorageRetriesSettings | None = None,
                 unsafe_use_conditional_create: bool | None = None,
                 unsafe_use_conditional_update: bool | None = None,
                 unsafe_use_metadata: bool | None = None, storage_class: str | None = None,
                 metadata_storage_class: str | None = None,
                 chunks_storage_class: str | None = None,
                 minimum_size_for_multipart_upload: int | None = None,
                 timeouts: StorageTimeoutSettings | None = None) -> None:
        self._init(locals())


@make_properties
class ManifestVirtualChunkLocationCompressionConfig(Record):
    """zstd-dictionary compression of virtual chunk locations in manifests."""

    __slots__ = ()
    _fields: ClassVar[dict[str, Any]] = dict.fromkeys(
        ("min_num_chunks", "dictionary_max_training_samples", "dictionary_max_size_bytes",
         "compression_level"), "int")
    _defaults: ClassVar[dict[str, Any]] = {
        "min_num_chunks": 1000, "dictionary_max_training_samples": 100,
        "dictionary_max_size_bytes": 2048, "compression_level": 3}

    def __init__(self, min_num_chunks: int | None = None, *,
                 dictionary_max_training_samples: int | None = None,
                 dictionary_max_size_bytes: int | None = None,
                 compression_level: int | None = None) -> None:
        self._init(locals())
