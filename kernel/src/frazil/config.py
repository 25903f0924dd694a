"""Repository configuration, persisted in the repo info file.

The repo info file stores the configuration as a FlexBuffers map whose keys
are the field names below (icechunk writes ``None`` for unset fields). frazil
keeps that map as a plain dict so fields it does not model yet (caching,
manifest splitting, storage settings) round-trip unchanged.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from frazil._features import FeatureFlag
from frazil._logs import Attribution, initialize_logs, set_logs_filter, shutdown_telemetry
from frazil._manifest_config import (
    ManifestConfig,
    ManifestPreloadCondition,
    ManifestPreloadConfig,
    ManifestSplitCondition,
    ManifestSplitDimCondition,
    ManifestSplittingConfig,
)
from frazil._records import check_unsigned
from frazil._repr import Fields, Mode, ReprMixin, mapping_text
from frazil._settings import (
    CachingConfig,
    CompressionAlgorithm,
    CompressionConfig,
    ManifestVirtualChunkLocationCompressionConfig,
    RepoUpdateRetryConfig,
    StorageConcurrencySettings,
    StorageRetriesSettings,
    StorageSettings,
    StorageTimeoutSettings,
)
from frazil.errors import ErrorKind, InvalidInputError, InvalidTypeError
from frazil.virtual import ObjectStoreConfig, VirtualChunkContainer

__all__ = [
    "Attribution",
    "CachingConfig",
    "CompressionAlgorithm",
    "CompressionConfig",
    "FeatureFlag",
    "ManifestConfig",
    "ManifestPreloadCondition",
    "ManifestPreloadConfig",
    "ManifestSplitCondition",
    "ManifestSplitDimCondition",
    "ManifestSplittingConfig",
    "ManifestVirtualChunkLocationCompressionConfig",
    "ObjectStoreConfig",
    "RepositoryConfig",
    "StorageConcurrencySettings",
    "StorageRetriesSettings",
    "StorageSettings",
    "StorageTimeoutSettings",
    "initialize_logs",
    "set_logs_filter",
    "shutdown_telemetry",
]

# fields held as config records (persisted as their dict form)
_RECORDS: dict[str, Any] = {"compression": CompressionConfig, "caching": CachingConfig,
                            "storage": StorageSettings, "manifest": ManifestConfig,
                            "repo_update_retries": RepoUpdateRetryConfig}
# shown by str() with their defaults when unset, as icechunk shows them
_SHOWN_DEFAULTS = {"get_partial_values_concurrency": 10, "max_concurrent_requests": 256,
                   "max_concurrent_decodes": 2, "num_updates_per_repo_info_file": 1000}
_TEXT_ORDER = ("inline_chunk_threshold_bytes", "get_partial_values_concurrency",
               "max_concurrent_requests", "max_concurrent_decodes",
               "num_updates_per_repo_info_file", "compression", "caching", "storage", "manifest",
               "repo_update_retries", "virtual_chunk_containers")

_FIELDS = (
    "caching",
    "compression",
    "get_partial_values_concurrency",
    "inline_chunk_threshold_bytes",
    "manifest",
    "max_concurrent_decodes",
    "max_concurrent_requests",
    "num_updates_per_repo_info_file",
    "previous_file",
    "repo_update_retries",
    "storage",
    "virtual_chunk_containers",
)
_INT_FIELDS = (
    "inline_chunk_threshold_bytes",
    "get_partial_values_concurrency",
    "max_concurrent_decodes",
    "max_concurrent_requests",
    "num_updates_per_repo_info_file",
)

#: what an unset ``repo_update_retries`` stands for, as icechunk's ``str`` shows it
_DEFAULT_REPO_UPDATE_RETRIES = dict(max_tries=100, initial_backoff_ms=50, max_backoff_ms=30_000)


DEFAULT_INLINE_THRESHOLD = 512
DEFAULT_UPDATES_PER_FILE = 1000


class RepositoryConfig(ReprMixin):
    """Configuration of a repository (icechunk's ``RepositoryConfig``).

    Parameters
    ----------
    inline_chunk_threshold_bytes
        Chunks of at most this many bytes are stored inside the manifest
        (default 512).
    get_partial_values_concurrency, max_concurrent_requests, ...
        Stored and round-tripped; see icechunk's documentation.
    """

    __slots__ = ("_data",)
    _repr_name = "frazil.config.RepositoryConfig"
    _repr_executable = True

    if TYPE_CHECKING:  # attached after the class body (below)
        caching: Any
        compression: Any
        get_partial_values_concurrency: int | None
        inline_chunk_threshold_bytes: int | None
        manifest: Any
        max_concurrent_decodes: int | None
        max_concurrent_requests: int | None
        num_updates_per_repo_info_file: int | None
        repo_update_retries: Any
        storage: Any
        virtual_chunk_containers: dict[str, Any] | None
        _container_prefixes: tuple[str, ...]

        def set_virtual_chunk_container(self, cont: Any) -> None: ...
        def get_virtual_chunk_container(self, name: str) -> Any: ...
        def clear_virtual_chunk_containers(self) -> None: ...

    def __init__(
        self,
        inline_chunk_threshold_bytes: int | None = None,
        get_partial_values_concurrency: int | None = None,
        compression: Any = None,
        max_concurrent_requests: int | None = None,
        caching: Any = None,
        storage: Any = None,
        virtual_chunk_containers: dict[str, Any] | None = None,
        manifest: Any = None,
        repo_update_retries: Any = None,
        num_updates_per_repo_info_file: int | None = None,
        max_concurrent_decodes: int | None = None,
    ) -> None:
        self._data: dict[str, Any] = {f: None for f in _FIELDS}
        args = dict(locals())
        for name in _FIELDS:
            if name in args and args[name] is not None:
                setattr(self, name, args[name])

    # -- conversion ------------------------------------------------------
    @staticmethod
    def default() -> RepositoryConfig:
        return RepositoryConfig()

    @classmethod
    def _from_dict(cls, data: dict[str, Any] | None) -> RepositoryConfig:
        cfg = cls()
        if data:
            cfg._data.update(copy.deepcopy(data))
        return cfg

    def _to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    def merge(self, other: RepositoryConfig) -> RepositoryConfig:
        """A new config: ``self`` with every field set in ``other`` replacing it."""
        out = RepositoryConfig._from_dict(self._data)
        for k, v in other._data.items():
            if v is None:
                continue
            if k == "virtual_chunk_containers" and out._data.get(k):
                out._data[k] = {**out._data[k], **copy.deepcopy(v)}  # entries extend
            else:
                out._data[k] = copy.deepcopy(v)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RepositoryConfig) and self._data == other._data

    # -- text: icechunk's three forms (frazil._repr) ----------------------
    def _repr_fields(self, mode: Mode) -> Fields:
        return [(name, self._field_text(name, getattr(self, name), mode)) for name in _TEXT_ORDER]

    @staticmethod
    def _field_text(name: str, value: Any, mode: Mode) -> str:
        if name == "virtual_chunk_containers" and value:
            return mapping_text(value, mode)
        if name == "repo_update_retries" and value is None and mode is not Mode.REPR:
            value = RepoUpdateRetryConfig(StorageRetriesSettings(**_DEFAULT_REPO_UPDATE_RETRIES))
        if mode is Mode.REPR:  # constructor syntax: ``None`` stays ``None``
            return value._repr_nested() if hasattr(value, "_repr_nested") else repr(value)
        if value is None and name in ("compression", "caching", "manifest"):
            value = _RECORDS[name]()
        if isinstance(value, ReprMixin):
            return value._render(mode)
        if value is None and name == "inline_chunk_threshold_bytes":
            return f"{DEFAULT_INLINE_THRESHOLD} (default)"
        if value is None and name in _SHOWN_DEFAULTS:
            return f"{_SHOWN_DEFAULTS[name]} (default)"
        return str(value)

    @property
    def previous_file(self) -> str | None:
        """The repo file this config was read from, when it came from a repository."""
        return self._data.get("previous_file")  # type: ignore[no-any-return]

    # -- effective values ------------------------------------------------
    @property
    def _inline_threshold(self) -> int:
        v = self._data.get("inline_chunk_threshold_bytes")
        return DEFAULT_INLINE_THRESHOLD if v is None else int(v)

    @property
    def _updates_per_file(self) -> int:
        return updates_per_file(self._data)


def updates_per_file(config: dict[str, Any] | None) -> int:
    """``num_updates_per_repo_info_file`` of a config dict (as saved in the repo info)."""
    v = None if config is None else config.get("num_updates_per_repo_info_file")
    return DEFAULT_UPDATES_PER_FILE if v is None else int(v)


def _make_property(name: str) -> property:
    record = _RECORDS.get(name)

    def fget(self: RepositoryConfig) -> Any:
        raw = self._data.get(name)
        return record._from_dict(raw) if record is not None and raw is not None else raw

    def fset(self: RepositoryConfig, value: Any) -> None:
        if record is not None and value is not None:
            if isinstance(value, dict):  # frazil extra: the persisted form
                value = record._from_dict(value)
            if not isinstance(value, record):
                raise InvalidTypeError(f"{name} must be a {record.__name__}, "
                                       f"got {type(value).__name__}")
            value = value._to_dict()
        if value is not None and name in _INT_FIELDS:
            check_unsigned(name, value)
        self._data[name] = value

    return property(fget, fset, doc=f"The ``{name}`` setting (``None`` = default).")


for _name in _FIELDS:
    if _name not in ("previous_file", "virtual_chunk_containers"):
        setattr(RepositoryConfig, _name, _make_property(_name))


# -- virtual chunk containers (stored as icechunk does: url_prefix -> container dict) --
def _containers_get(self: RepositoryConfig) -> dict[str, Any] | None:
    data = self._data.get("virtual_chunk_containers")
    if data is None:
        return None
    return {k: VirtualChunkContainer._from_dict(v) for k, v in data.items()}


def _containers_set(self: RepositoryConfig, value: Any) -> None:
    if value is None:
        self._data["virtual_chunk_containers"] = None
        return
    if not isinstance(value, dict):
        raise InvalidInputError("virtual_chunk_containers must be a dict of "
                                "VirtualChunkContainer")
    self._data["virtual_chunk_containers"] = {}
    for cont in value.values():
        self.set_virtual_chunk_container(cont)


def _set_container(self: RepositoryConfig, cont: Any) -> None:
    """Add or replace the container for ``cont.url_prefix``."""
    if isinstance(cont, dict):
        cont = VirtualChunkContainer._from_dict(cont)
    if not isinstance(cont, VirtualChunkContainer):
        raise InvalidInputError(f"not a VirtualChunkContainer: {cont!r}")
    if not cont.url_prefix.endswith("/"):
        raise InvalidInputError("VirtualChunkContainer url_prefix must end in a / character",
                                ErrorKind.INVALID_VIRTUAL_CHUNK_CONTAINER)
    data = self._data.get("virtual_chunk_containers") or {}
    data[cont.url_prefix] = cont._to_dict()
    self._data["virtual_chunk_containers"] = data


def _get_container(self: RepositoryConfig, name: str) -> Any:
    """The container with url prefix ``name`` (or whose ``name`` is ``name``), or None."""
    conts = _containers_get(self) or {}
    if name in conts:
        return conts[name]
    return next((c for c in conts.values() if c.name == name), None)


def _clear_containers(self: RepositoryConfig) -> None:
    self._data["virtual_chunk_containers"] = {}


def _container_prefixes(self: RepositoryConfig) -> tuple[str, ...]:
    return tuple((self._data.get("virtual_chunk_containers") or {}).keys())


# typed by the TYPE_CHECKING declarations in the class body
RepositoryConfig.virtual_chunk_containers = property(  # type: ignore[assignment]
    _containers_get, _containers_set,
    doc="Virtual chunk containers by url prefix (``None`` = not set).")
RepositoryConfig.set_virtual_chunk_container = _set_container  # type: ignore[method-assign]
RepositoryConfig.get_virtual_chunk_container = _get_container  # type: ignore[method-assign]
RepositoryConfig.clear_virtual_chunk_containers = _clear_containers  # type: ignore[method-assign]
RepositoryConfig._container_prefixes = property(_container_prefixes)  # type: ignore[assignment]
