"""The async :class:`Storage` interface that every backend implements.

Backends subclass :class:`Storage` and implement the ``_``-prefixed abstract
coroutines. The public coroutines wrap them once, here: they validate paths and
byte ranges, refuse writes on read-only storage, and bound concurrency with one
semaphore per event loop (``max_concurrent_requests``).

Byte ranges reach implementations normalized to ``(start, end)``:

* ``(start, end)`` with ``0 <= start <= end``: bytes ``[start, end)``;
  an ``end`` past the object's end is clamped to it.
* ``(start, None)`` with ``start >= 0``: from ``start`` to the end.
* ``(-n, None)``: the last ``n`` bytes (the whole object if shorter).

A ``start`` past the object's end raises :class:`InvalidInputError` (kind
``invalid-byte-range``); ``start`` equal to the size returns ``b""``. These map
one-to-one onto HTTP ``Range`` headers (``bytes=s-e-1``, ``bytes=s-``, ``bytes=-n``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import math
import threading
import types
import weakref
from abc import ABC, ABCMeta, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from frazil._repr import Fields, Mode, ReprMixin, datetime_text, html_form, str_form
from frazil._settings import StorageSettings
from frazil._sync import sync
from frazil.errors import ErrorKind, InvalidInputError, ReadOnlyError
from frazil.plugins import KNOWN_PROVIDERS, get_plugins
from frazil.storage._errors import ObjectNotFoundError

__all__ = [
    "ByteRange",
    "DEFAULT_MAX_CONCURRENT_REQUESTS",
    "ObjectInfo",
    "Storage",
    "VersionToken",
    "normalize_byte_range",
    "redact_url",
    "resolve_byte_range",
    "storage_settings_overrides",
    "validate_path",
]

DEFAULT_MAX_CONCURRENT_REQUESTS = 64

ByteRange = tuple[int, int | None]
"""``(start, end_exclusive)``, ``(start, None)`` or ``(-suffix_length, None)``."""

# Guards lazy creation of per-loop semaphores; module level so storages stay picklable.
_SEMAPHORE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class VersionToken:
    """Opaque identity of one version of an object (an etag, a generation...).

    Only compare tokens for equality, and only tokens of the same storage.
    """

    value: str


@dataclass(frozen=True, slots=True, repr=False, eq=True)
class StorageObjectInfo(ReprMixin):
    """One object of :meth:`Storage.list_objects_metadata` (icechunk's
    ``StorageObjectInfo``): its key relative to the listed directory, size and creation
    time (UTC)."""

    key: str
    size_bytes: int
    created_at: datetime

    _repr_name = "frazil.storage.StorageObjectInfo"
    __hash__ = None  # type: ignore[assignment]  # as icechunk's: compared, not hashed

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("key", self.key), ("size_bytes", str(self.size_bytes)),
                ("created_at", datetime_text(self.created_at))]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One listed object.

    Attributes
    ----------
    path
        Key relative to the storage root, ``/``-separated.
    size_bytes
        Object size in bytes.
    last_modified
        Last modification time, timezone-aware (UTC).
    """

    path: str
    size_bytes: int
    last_modified: datetime


#: ``StorageSettings`` retries and timeouts -> the backends' setting names (and scale)
_SETTING_NAMES = {("retries", "max_tries"): ("max_tries", 1),
                  ("retries", "initial_backoff_ms"): ("initial_backoff_s", 1000),
                  ("retries", "max_backoff_ms"): ("max_backoff_s", 1000),
                  ("timeouts", "connect_timeout_ms"): ("connect_timeout_s", 1000),
                  ("timeouts", "read_timeout_ms"): ("read_timeout_s", 1000),
                  ("timeouts", "operation_timeout_ms"): ("operation_timeout_s", 1000),
                  ("timeouts", "operation_attempt_timeout_ms"): ("attempt_timeout_s", 1000)}


def _settings_dict(settings: Any) -> dict[str, Any]:
    """The persisted (dict) form of a ``StorageSettings``; ``{}`` for ``None``."""
    if settings is None:
        return {}
    if isinstance(settings, dict):
        return settings
    if isinstance(settings, StorageSettings):
        return settings._to_dict()
    raise InvalidInputError(f"storage settings must be a frazil.StorageSettings, "
                            f"got {type(settings).__name__}")


def storage_settings_overrides(settings: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The retries and timeouts set in ``settings`` (a ``StorageSettings``, icechunk's, or the
    dict form), under the names backends' settings use (``max_tries``, ``initial_backoff_s``,
    ``max_backoff_s``, ``connect_timeout_s``, ``read_timeout_s``, ``operation_timeout_s``,
    ``attempt_timeout_s``), keeping those in ``fields``; unset values are left out."""
    wanted, out = set(fields), {}
    for (group, name), (field, scale) in _SETTING_NAMES.items():
        value = _setting(_setting(settings, group), name)
        if value is not None and field in wanted:
            out[field] = int(value) if scale == 1 else value / scale
    return out


def _setting(obj: Any, name: str) -> Any:
    """Field ``name`` of a settings object or of its dict form (``None`` if unset)."""
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def redact_url(url: str) -> str:
    """``url`` without user info, query string and fragment: what a ``repr`` may show."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<unparsable URL>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def validate_path(path: str) -> str:
    """Check that ``path`` is a relative ``/``-separated object key and return it.

    Raises
    ------
    InvalidInputError
        With kind ``invalid-path`` for empty, absolute or non-normalized paths.
    """
    if not isinstance(path, str) or not path:
        raise InvalidInputError(f"invalid object path: {path!r}", ErrorKind.INVALID_PATH)
    if path.startswith("/") or any(seg in ("", ".", "..") for seg in path.split("/")):
        raise InvalidInputError(f"invalid object path: {path!r}", ErrorKind.INVALID_PATH)
    return path


def normalize_byte_range(byte_range: Any) -> ByteRange | None:
    """Normalize a tuple or zarr ``ByteRequest`` into a :data:`ByteRange`.

    Accepts ``None``, ``(start, end)``, ``(start, None)``, ``(-n, None)`` and
    duck-typed zarr ``RangeByteRequest`` / ``OffsetByteRequest`` /
    ``SuffixByteRequest``.

    Raises
    ------
    InvalidInputError
        With kind ``invalid-byte-range`` when the range is malformed.
    """
    if byte_range is None:
        return None
    if hasattr(byte_range, "suffix"):
        if int(byte_range.suffix) <= 0:  # (-0, None) would read as "everything"
            raise _bad_range(byte_range)
        start, end = -int(byte_range.suffix), None
    elif hasattr(byte_range, "offset"):
        start, end = int(byte_range.offset), None
    elif hasattr(byte_range, "start") and hasattr(byte_range, "end"):
        start, end = int(byte_range.start), int(byte_range.end)
    else:
        try:
            start, end = byte_range
        except (TypeError, ValueError):
            raise _bad_range(byte_range) from None
    if not isinstance(start, int) or not (end is None or isinstance(end, int)):
        raise _bad_range(byte_range)
    if end is not None and (start < 0 or end < start):
        raise _bad_range(byte_range)
    return (start, end)


def _bad_range(byte_range: object) -> InvalidInputError:
    return InvalidInputError(f"invalid byte range: {byte_range!r}", ErrorKind.INVALID_BYTE_RANGE)


def resolve_byte_range(byte_range: ByteRange, size: int) -> tuple[int, int]:
    """Resolve a normalized range against an object of ``size`` bytes.

    Returns
    -------
    tuple[int, int]
        ``(start, stop)`` offsets with ``0 <= start <= stop <= size``.

    Raises
    ------
    InvalidInputError
        With kind ``invalid-byte-range`` if ``start`` is past the end.
    """
    start, end = byte_range
    if start < 0:  # suffix form
        return max(size + start, 0), size
    if start > size:
        raise InvalidInputError(
            f"byte range {byte_range!r} starts past the end of a {size}-byte object",
            ErrorKind.INVALID_BYTE_RANGE,
        )
    return start, size if end is None else min(end, size)


def constructor_of(cls: type, function: Callable[..., Any]) -> Any:
    """``function`` in icechunk's form of a ``Storage.new_*`` constructor: a classmethod
    bound to ``cls`` whose signature is ``function``'s own."""
    def constructor(_cls: type, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    functools.update_wrapper(constructor, function)  # __wrapped__: the plugin's function
    signature = inspect.signature(function)
    first = inspect.Parameter("cls", inspect.Parameter.POSITIONAL_ONLY)
    constructor.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[first, *signature.parameters.values()])
    return types.MethodType(constructor, cls)


class _StorageMeta(ABCMeta):
    """``Storage.new_s3(...)`` and the other backend constructors icechunk puts on
    ``Storage`` come from the backend distributions (``frazil_register_names``
    with ``module="frazil.Storage"``); a missing one names what to install."""

    def __getattr__(cls, name: str) -> Any:
        if not name.startswith("new_"):
            raise AttributeError(name)
        try:
            return constructor_of(cls, get_plugins().public_name("frazil.Storage", name))
        except InvalidInputError:
            dist = KNOWN_PROVIDERS["name"].get(f"frazil.Storage.{name}")
            hint = f": it needs the {dist} distribution (pip install {dist})" if dist else ""
            raise AttributeError(f"type object 'Storage' has no attribute {name!r}{hint}") \
                from None


class Storage(ABC, metaclass=_StorageMeta):
    """An object store holding one repository, addressed by relative keys.

    Subclasses implement the ``_``-prefixed coroutines and call
    ``super().__init__()``. All I/O is ``async``; a storage must be picklable
    (it travels to dask workers), so keep clients and locks out of ``__dict__``
    or drop them in ``__getstate__``.

    Parameters
    ----------
    max_concurrent_requests
        Upper bound on concurrent calls per event loop.
    """

    def __init__(self, *, max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        if max_concurrent_requests < 1:
            raise InvalidInputError("max_concurrent_requests must be >= 1")
        self._max_concurrent_requests = int(max_concurrent_requests)
        # One semaphore per event loop: asyncio primitives bind to a single loop.
        self._semaphores: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    # -- properties ---------------------------------------------------------

    @property
    def max_concurrent_requests(self) -> int:
        """Upper bound on concurrent requests per event loop."""
        return getattr(self, "_max_concurrent_requests", DEFAULT_MAX_CONCURRENT_REQUESTS)

    @property
    def can_write(self) -> bool:
        """Whether this storage accepts writes (``False`` for read-only backends)."""
        return True

    def default_settings(self) -> StorageSettings:
        """The storage settings this backend uses when a repository sets none."""
        return StorageSettings()

    def with_settings(self, settings: StorageSettings | dict[str, Any] | None) -> Storage:
        """This storage behaving as ``settings`` (a ``RepositoryConfig.storage``) asks.

        Returns a copy on the same objects (``self`` if nothing is set): unset
        fields keep this storage's behaviour. The kernel applies
        ``unsafe_use_conditional_create`` / ``unsafe_use_conditional_update``
        (``False``: plain writes, as icechunk) and ``concurrency`` (byte ranges
        larger than ``ideal_concurrent_request_size`` are read in up to
        ``max_concurrent_requests_for_object`` parallel parts); backends extend
        :meth:`_apply_settings` for retries, timeouts, storage classes...
        :class:`frazil.Repository` calls this with its config's settings.
        """
        d = _settings_dict(settings)
        if not any(v is not None for v in d.values()):
            return self
        # one copy per distinct settings and source: each open of a repository with the
        # same config reuses the same copy, and so its clients
        key = json.dumps(d, sort_keys=True, default=str)
        if self.__dict__.get("_settings_key") == key:
            return self
        cache = self.__dict__.setdefault("_settings_cache", {})
        clone = cache.get(key)
        if clone is None:
            # a plain attribute copy (not copy.copy: __getstate__ may refuse or drop state)
            clone = object.__new__(type(self))
            clone.__dict__.update(self.__dict__)
            clone._semaphores = weakref.WeakKeyDictionary()
            clone._settings_cache = {}
            clone._settings_key = key
            clone._apply_settings(d)
            clone = cache.setdefault(key, clone)
        return clone

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Apply ``settings`` (dict form, ``None`` = unset) to this fresh copy.

        Backends override it, call ``super()._apply_settings(settings)``, and
        replace (never mutate) any client they share with the original.
        """
        for flag in ("create", "update"):
            value = settings.get(f"unsafe_use_conditional_{flag}")
            if value is not None:
                setattr(self, f"_conditional_{flag}", bool(value))
        concurrency = settings.get("concurrency") or {}
        parts = concurrency.get("max_concurrent_requests_for_object")
        size = concurrency.get("ideal_concurrent_request_size")
        if parts is not None or size is not None:
            self._split_reads = (max(1, int(parts or 18)), max(1, int(size or 12 * 2 ** 20)))

    def list_objects_metadata(self, settings: Any = None, prefix: str | None = None
                              ) -> list[StorageObjectInfo]:
        """Every object in the directory ``prefix`` (default: the whole repository) with its
        size and creation time, listed with ``settings`` (a ``StorageSettings``) if given.

        As in icechunk, ``prefix`` names a directory (``"chunks"`` and ``"chunks/"`` are the
        same; ``"chunk"`` lists nothing) and keys are relative to it.
        """
        directory = (prefix or "").strip("/")
        start = f"{directory}/" if directory else ""
        listed = sync(self.with_settings(settings).list_objects_async(start))
        return [StorageObjectInfo(o.path[len(start):], o.size_bytes, o.last_modified)
                for o in listed]

    def list_objects(self, settings: Any = None, prefix: str | None = None
                     ) -> list[tuple[str, int]]:
        """``(key, size in bytes)`` of every object under ``prefix`` (icechunk's older form of
        :meth:`list_objects_metadata`, which also gives each object's creation time)."""
        return [(o.key, o.size_bytes) for o in self.list_objects_metadata(settings, prefix)]

    def check_can_create_repository(self) -> None:
        """Raise :class:`~frazil.InvalidInputError` if no new repository may be created here.

        Called by :meth:`frazil.Repository.create` before any I/O; the default
        allows it. Object stores refuse the bucket root, as icechunk does.
        """

    def __repr__(self) -> str:
        """icechunk's text form: a ``<frazil.Storage>`` line, then ``field: value`` lines."""
        return str_form("frazil.Storage", self._text_fields())

    __str__ = __repr__

    def _label(self) -> str:
        """One line for messages: ``S3 (native) storage (bucket: b, prefix: p)``."""
        kind, fields = self._described()
        inner = ", ".join(f"{k}: {v}" for k, v in fields.items())
        return f"{kind} storage ({inner})" if inner else f"{kind} storage"

    def _repr_html_(self) -> str:
        """The fields of ``repr`` as HTML, laid out as icechunk lays out its storages."""
        return html_form("frazil.Storage", self._text_fields())

    def _text_fields(self) -> list[tuple[str, str]]:
        label, fields = self._described()
        return [("type", label), *((k, str(v)) for k, v in fields.items())]

    def _described(self) -> tuple[str, dict[str, object]]:
        fields = {k: v for k, v in self._repr_fields().items() if v is not None}
        return self._repr_type(), fields

    def _repr_type(self) -> str:
        """The ``type:`` line of ``repr`` (icechunk's name for the backend)."""
        return type(self).__name__

    def _repr_fields(self) -> dict[str, object]:
        """Fields shown by ``repr`` in order; ``None`` ones are left out. Never credentials."""
        return {}

    # -- pickling -------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_semaphores", None)  # bound to event loops of this process
        state.pop("_settings_cache", None)  # copies with other settings: rebuilt on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._semaphores = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with _SEMAPHORE_LOCK:
            sems = self.__dict__.get("_semaphores")
            if sems is None:
                sems = self._semaphores = weakref.WeakKeyDictionary()
            sem = sems.get(loop)
            if sem is None:
                sem = sems[loop] = asyncio.Semaphore(self.max_concurrent_requests)
            return sem

    def _check_writable(self) -> None:
        if not self.can_write:
            raise ReadOnlyError(f"{self._label()} is read-only",
                                ErrorKind.READ_ONLY_STORE)

    # -- public coroutines ----------------------------------------------------

    async def get_object(self, path: str, byte_range: ByteRange | Any | None = None) -> bytes:
        """Read an object, or a byte range of it.

        ``byte_range`` is a :data:`ByteRange` tuple or a zarr ``ByteRequest``;
        see the module docstring for the semantics, including out-of-range starts.

        Raises
        ------
        ObjectNotFoundError
            If no object exists at ``path``.
        """
        rng = normalize_byte_range(byte_range)
        split = self.__dict__.get("_split_reads")
        if split is not None and rng is not None and rng[1] is not None and rng[0] >= 0 \
                and rng[1] - rng[0] > split[1]:
            return await self._get_in_parts(validate_path(path), rng[0], rng[1], *split)
        async with self._semaphore():
            return await self._get_object(validate_path(path), rng)

    async def _get_in_parts(self, path: str, start: int, end: int, max_parts: int,
                            ideal: int) -> bytes:
        """Bytes ``[start, end)`` read as parallel ranges (icechunk's concurrency settings)."""
        n = min(max_parts, math.ceil((end - start) / ideal))
        step = math.ceil((end - start) / n)

        async def part(lo: int) -> bytes:
            async with self._semaphore():
                try:
                    return await self._get_object(path, (lo, min(lo + step, end)))
                except InvalidInputError:
                    if lo == start:  # the range itself starts past the end
                        raise
                    return b""  # the range ends past the object's end: clamped, as one read

        return b"".join(await asyncio.gather(*(part(lo) for lo in range(start, end, step))))

    async def get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        """Read a whole object and the token of the version read.

        Raises
        ------
        ObjectNotFoundError
            If no object exists at ``path``.
        """
        async with self._semaphore():
            return await self._get_object_versioned(validate_path(path))

    async def put_object(self, path: str, data: bytes) -> None:
        """Write an object unconditionally; readers see the old or new bytes, never a mix."""
        self._check_writable()
        async with self._semaphore():
            await self._put_object(validate_path(path), bytes(data))

    async def put_object_copy(self, path: str, data: bytes, *, source: str,
                              version: VersionToken) -> None:
        """Write ``data`` at ``path``, where ``data`` is object ``source`` at ``version``.

        The result is :meth:`put_object`'s. A backend may instead copy ``source``
        without sending ``data`` (a hard link, a server-side copy) when it can make
        sure that what it copied is that version; the default sends ``data``.
        """
        self._check_writable()
        async with self._semaphore():
            await self._put_object_copy(validate_path(path), bytes(data), validate_path(source),
                                        version)

    async def put_object_if(
        self, path: str, data: bytes, *, expected: VersionToken | None
    ) -> VersionToken:
        """Write an object atomically if it is still at version ``expected``.

        Parameters
        ----------
        expected
            ``None`` to create the object only if it is absent; otherwise the
            token (from :meth:`get_object_versioned` or a previous
            :meth:`put_object_if`) the current version must have.

        Returns
        -------
        VersionToken
            The token of the version written.

        Raises
        ------
        ConditionFailedError
            If the condition did not hold; nothing was written.
        """
        self._check_writable()
        flag = "_conditional_create" if expected is None else "_conditional_update"
        async with self._semaphore():
            if not self.__dict__.get(flag, True):  # unsafe_use_conditional_*=False: plain put
                await self._put_object(validate_path(path), bytes(data))
                return (await self._get_object_versioned(path))[1]
            return await self._put_object_if(validate_path(path), bytes(data), expected)

    async def list_objects_async(self, prefix: str = "") -> list[ObjectInfo]:
        """List objects whose path starts with ``prefix`` (a plain string prefix): the
        coroutine behind :meth:`list_objects` and :meth:`list_objects_metadata`."""
        async with self._semaphore():
            return await self._list_objects(prefix)

    async def delete_objects(self, paths: Iterable[str]) -> int:
        """Delete objects; missing ones are skipped. Returns how many were deleted."""
        self._check_writable()
        if isinstance(paths, str):  # would otherwise delete one object per character
            raise InvalidInputError("delete_objects takes an iterable of paths, not a str")
        checked = [validate_path(p) for p in paths]
        async with self._semaphore():
            return await self._delete_objects(checked)

    async def object_size(self, path: str) -> int:
        """Size of an object in bytes; raises :class:`ObjectNotFoundError` if absent."""
        async with self._semaphore():
            return await self._object_size(validate_path(path))

    async def exists(self, path: str) -> bool:
        """Whether an object exists at ``path``."""
        try:
            await self.object_size(path)
        except ObjectNotFoundError:
            return False
        return True

    # -- what backends implement ------------------------------------------------

    @abstractmethod
    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes: ...

    @abstractmethod
    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]: ...

    @abstractmethod
    async def _put_object(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    async def _put_object_if(
        self, path: str, data: bytes, expected: VersionToken | None
    ) -> VersionToken: ...

    async def _put_object_copy(self, path: str, data: bytes, source: str,
                               version: VersionToken) -> None:
        """:meth:`put_object_copy` (optional: the default uploads ``data``)."""
        await self._put_object(path, data)

    @abstractmethod
    async def _list_objects(self, prefix: str) -> list[ObjectInfo]: ...

    @abstractmethod
    async def _delete_objects(self, paths: list[str]) -> int: ...

    @abstractmethod
    async def _object_size(self, path: str) -> int: ...
