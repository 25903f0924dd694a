"""Virtual chunk API objects (icechunk's ``icechunk.virtual`` surface).

``VirtualChunkContainer`` and the ``ObjectStoreConfig`` values it holds are
persisted in the repository config exactly as icechunk writes them::

    virtual_chunk_containers = {
        url_prefix: {"name": name | None, "store": {kind: options}, "url_prefix": url_prefix},
    }

where ``{kind: options}`` is e.g. ``{"local_file_system": "/data"}`` or
``{"s3": {...S3 options...}}``. frazil only builds the ``local_file_system`` store
itself (``local_filesystem_store``); other kinds come from optional
distributions (frazil-s3, ...) or from a config written by icechunk, and are kept
verbatim so they round-trip.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from frazil._repr import (
    SECRET,
    Fields,
    Mode,
    ReprMixin,
    debug_text,
    html_form,
    quoted,
    redacted_options,
    repr_form,
    s3_options_fields,
    str_form,
)
from frazil.errors import ErrorKind, InvalidInputError

__all__ = [
    "AnyObjectStoreConfig",
    "ChunkType",
    "SupportsObjectMetadata",
    "VirtualChunkResolver",
    "ObjectStoreConfig",
    "VirtualChunkContainer",
    "VirtualChunkSpec",
    "local_filesystem_store",
]


class ChunkType(Enum):
    """The kind of a chunk reference (icechunk's ``ChunkType``)."""

    uninitialized = 0
    native = 1
    virtual = 2
    inline = 3

    def __repr__(self) -> str:  # "Name.member" in both forms, as icechunk's enums
        return f"{type(self).__name__}.{self.name}"

    __str__ = __repr__


@runtime_checkable
class VirtualChunkResolver(Protocol):
    """What a virtual chunk resolver plugin builds: reads byte ranges of objects by URL.

    A resolver factory is registered with
    ``VirtualChunkResolverRegistry.add(name, factory, url_schemes=...)`` and
    called as ``factory(container_prefix, credentials)`` — plus ``store=`` (the
    container's persisted ``{kind: options}``) when it accepts that keyword.
    The kernel authorizes every location before calling the resolver and
    merges adjacent ranges of one object into one ``fetch``.
    """

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object at ``location``."""
        ...


@runtime_checkable
class SupportsObjectMetadata(Protocol):
    """A resolver that can verify a virtual ref's checksums (etag, last modified)."""

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(etag, last modified in seconds since the epoch)`` of the object."""
        ...


_VARIANTS = {"in_memory": "InMemory", "local_file_system": "LocalFileSystem", "s3": "S3",
             "s3_compatible": "S3Compatible", "gcs": "Gcs", "azure": "Azure", "tigris": "Tigris",
             "http": "Http"}
_S3_KINDS = ("s3", "s3_compatible", "tigris")


def _some(value: Any, *, all_secret: bool = False) -> str:
    """An optional option dict as icechunk prints it (``Some({...})`` or ``None``)."""
    if value is None:
        return "None"
    shown = dict.fromkeys(value, SECRET) if all_secret else redacted_options(value)
    return f"Some({debug_text(shown)})"


class ObjectStoreConfig(ReprMixin):
    """Where a virtual chunk container's objects live: ``{kind: options}``.

    ``kind`` is icechunk's serialized name (``local_file_system``, ``s3``,
    ``s3_compatible``, ``gcs``, ``azure``, ``tigris``, ``http``,
    ``in_memory``); ``options`` is whatever icechunk stores for that kind.
    """

    __slots__ = ("kind", "options")

    def __init__(self, kind: str, options: Any = None) -> None:
        if not isinstance(kind, str) or not kind:
            raise InvalidInputError(f"object store kind must be a non-empty string, got {kind!r}")
        self.kind = kind
        self.options = copy.deepcopy(options) if options is not None else {}

    def _to_dict(self) -> Any:
        if self.options is None:  # a unit variant (in_memory) persists as its name
            return self.kind
        return {self.kind: copy.deepcopy(self.options)}

    @classmethod
    def _from_dict(cls, data: Any) -> ObjectStoreConfig:
        if isinstance(data, str):  # unit variants, e.g. "in_memory"
            out = cls(data, None)
            out.options = None
            return out
        if not isinstance(data, dict) or len(data) != 1:
            raise InvalidInputError(f"invalid object store config {data!r}")
        ((kind, options),) = data.items()
        out = cls.__new__(cls)
        out.kind, out.options = kind, copy.deepcopy(options)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectStoreConfig) and self._to_dict() == other._to_dict()

    def __hash__(self) -> int:
        return hash(self.kind)

    # -- text: icechunk's forms; positional constructor syntax for repr ------
    def _repr_header(self) -> str:
        variant = _VARIANTS.get(self.kind)
        return f"frazil.config.ObjectStoreConfig.{variant}" if variant else \
            "frazil.virtual.ObjectStoreConfig"

    def _s3_options(self) -> dict[str, Any]:
        opts = self.options if isinstance(self.options, dict) else {}
        if len(opts) == 1 and next(iter(opts)) in _S3_KINDS:  # {"s3": {...}} nested
            opts = next(iter(opts.values()))
        return opts if isinstance(opts, dict) else {}

    def _http_parts(self) -> tuple[Any, Any]:
        """``(opts, headers)``; persisted as ``{**opts, "headers": {...}}``."""
        opts = dict(self.options) if isinstance(self.options, dict) else {}
        return opts, opts.pop("headers", None) or None

    def _repr_fields(self, mode: Mode) -> Fields:
        if self.kind == "local_file_system":
            return [("path", quoted(str(self.options)))]
        if self.kind in _S3_KINDS:
            return s3_options_fields(self._s3_options())
        if self.kind == "http":
            opts, headers = self._http_parts()
            return [("opts", _some(opts)), ("headers", _some(headers, all_secret=True))]
        if self.kind in ("gcs", "azure"):
            return [("config", _some(self.options))]
        if self.kind == "in_memory":
            return []
        return [("kind", quoted(self.kind)), ("options", self._other_options())]

    def _other_options(self) -> str:
        """Options of a kind icechunk does not know (a plugin's), credentials hidden."""
        opts = self.options
        return debug_text(redacted_options(opts) if isinstance(opts, dict) else opts)

    def _render(self, mode: Mode) -> str:
        head = self._repr_header()
        if mode is Mode.HTML:
            return html_form(head, self._repr_fields(mode))
        if mode is Mode.STR:
            return str_form(head, self._repr_fields(mode))
        if self.kind == "local_file_system":
            return f'{head}("{self.options}")'
        if self.kind in _S3_KINDS:
            return f"{head}({repr_form('frazil.storage.S3Options', self._repr_fields(mode))})"
        if self.kind == "http":
            opts, headers = self._http_parts()
            return f"{head}({_some(opts)}, {_some(headers, all_secret=True)})"
        if self.kind in ("gcs", "azure"):
            return f"{head}({_some(self.options)})"
        if self.kind == "in_memory":
            return f"{head}()"
        return f'frazil.virtual.ObjectStoreConfig("{self.kind}", {self._other_options()})'


def _options(options: Any) -> Any:
    to_dict = getattr(options, "_to_dict", None)  # e.g. frazil-s3's S3Options
    return to_dict() if callable(to_dict) else options


def _http_options(opts: Any, headers: Any) -> dict[str, Any]:
    """What icechunk persists for an http store: its options, plus ``headers`` when given."""
    return {**dict(opts or {}), **({"headers": dict(headers)} if headers else {})}


def _variant(name: str, kind: str, build: Callable[..., Any] | None) -> type[ObjectStoreConfig]:
    """icechunk's variant classes: ``ObjectStoreConfig.S3(options)`` and the like, taking
    their fields by position as icechunk's do (``_0``, ``_1``)."""
    if build is None:
        def __init__(self: ObjectStoreConfig) -> None:
            ObjectStoreConfig.__init__(self, kind)
            self.options = None  # a unit variant
    elif build is _http_options:
        def __init__(self: ObjectStoreConfig, _0: Any, _1: Any) -> None:  # type: ignore[misc]
            ObjectStoreConfig.__init__(self, kind, _http_options(_0, _1))
    else:
        def __init__(self: ObjectStoreConfig, _0: Any) -> None:  # type: ignore[misc]
            ObjectStoreConfig.__init__(self, kind, build(_0))

    return type(name, (ObjectStoreConfig,), {"__slots__": (), "__init__": __init__,
                                             "__qualname__": f"ObjectStoreConfig.{name}"})


def _mapping(opts: Any) -> dict[str, Any]:
    return dict(opts or {})


def _s3_options(opts: Any) -> Any:
    """An S3Options object's persisted options: the inner map of its ``{"s3": {...}}``."""
    out = _options(opts)
    if isinstance(out, dict) and len(out) == 1 and \
            next(iter(out)) in ("s3", "s3_compatible", "tigris"):
        return next(iter(out.values()))
    return out


for _name, _kind, _build in (("InMemory", "in_memory", None),
                             ("LocalFileSystem", "local_file_system", _options),
                             ("S3", "s3", _s3_options),
                             ("S3Compatible", "s3_compatible", _s3_options),
                             ("Gcs", "gcs", _mapping), ("Azure", "azure", _mapping),
                             ("Tigris", "tigris", _s3_options), ("Http", "http", _http_options)):
    setattr(ObjectStoreConfig, _name, _variant(_name, _kind, _build))

#: icechunk's union of object store configs: one class in frazil
AnyObjectStoreConfig = ObjectStoreConfig


def local_filesystem_store(path: str) -> ObjectStoreConfig:
    """The object store of a ``file://`` virtual chunk container."""
    return ObjectStoreConfig("local_file_system", str(path))


def _store_config(store: Any) -> ObjectStoreConfig:
    if isinstance(store, ObjectStoreConfig):
        return store
    to_dict = getattr(store, "_to_dict", None)  # e.g. store objects of frazil-s3
    if callable(to_dict):
        return ObjectStoreConfig._from_dict(to_dict())
    if isinstance(store, dict | str):
        return ObjectStoreConfig._from_dict(store)
    raise InvalidInputError(f"not an object store config: {store!r}")


class VirtualChunkContainer(ReprMixin):
    """Configuration to read virtual chunks whose URLs start with ``url_prefix``."""

    __slots__ = ("name", "store", "url_prefix")
    _repr_name = "frazil.virtual.VirtualChunkContainer"
    _repr_executable = True

    def __init__(self, url_prefix: str, store: Any, name: str | None = None) -> None:
        if not isinstance(url_prefix, str) or not url_prefix.endswith("/"):
            raise InvalidInputError(
                f"VirtualChunkContainer url_prefix must end in a / character: {url_prefix!r}",
                ErrorKind.INVALID_VIRTUAL_CHUNK_CONTAINER)
        if "://" not in url_prefix:
            raise InvalidInputError(f"VirtualChunkContainer url_prefix {url_prefix!r} is not a "
                                    "URL", ErrorKind.INVALID_VIRTUAL_CHUNK_CONTAINER)
        self.url_prefix = url_prefix
        self.store = _store_config(store)
        self.name = name

    def _to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "store": self.store._to_dict(), "url_prefix": self.url_prefix}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> VirtualChunkContainer:
        out = cls.__new__(cls)
        out.url_prefix = data["url_prefix"]
        out.store = ObjectStoreConfig._from_dict(data["store"])
        out.name = data.get("name")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VirtualChunkContainer) and self._to_dict() == other._to_dict()

    def __hash__(self) -> int:
        return hash(self.url_prefix)

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("name", quoted(self.name)), ("url_prefix", quoted(self.url_prefix)),
                ("store", self.store._render(mode))]


class VirtualChunkSpec:
    """One virtual chunk reference for ``IcechunkStore.set_virtual_refs``."""

    __slots__ = ("etag_checksum", "index", "last_updated_at_checksum", "length", "location",
                 "offset")

    def __init__(self, index: Sequence[int], location: str, offset: int, length: int,
                 etag_checksum: str | None = None,
                 last_updated_at_checksum: _dt.datetime | None = None) -> None:
        self.index = [int(i) for i in index]
        self.location = location
        self.offset = int(offset)
        self.length = int(length)
        self.etag_checksum = etag_checksum
        self.last_updated_at_checksum = last_updated_at_checksum

    def __repr__(self) -> str:
        return (f"VirtualChunkSpec(index={self.index}, location={self.location!r}, "
                f"offset={self.offset}, length={self.length})")


def checksum_fields(checksum: Any) -> tuple[str | None, int]:
    """``(etag, last_modified seconds)`` from icechunk's ``checksum`` argument.

    A ``datetime`` (naive = UTC, as icechunk) or a number of seconds is a
    last-modified checksum; a string is an etag; ``None`` is no checksum.
    """
    if checksum is None:
        return None, 0
    if isinstance(checksum, str):
        return checksum, 0
    if isinstance(checksum, _dt.datetime):
        if checksum.tzinfo is None:
            checksum = checksum.replace(tzinfo=_dt.timezone.utc)
        secs = int(checksum.timestamp())
    elif isinstance(checksum, int | float) and not isinstance(checksum, bool):
        secs = int(checksum)
    else:
        raise InvalidInputError(f"checksum must be an etag string or a datetime, got "
                                f"{checksum!r}")
    if not 0 < secs < 2**32:
        raise InvalidInputError(f"last-modified checksum {checksum!r} is out of range")
    return None, secs
