"""In-memory storage: a dict behind a lock, for tests and scratch repositories."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from typing import Any

from frazil.storage._base import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ObjectInfo,
    Storage,
    VersionToken,
    resolve_byte_range,
)
from frazil.storage._errors import ConditionFailedError, ObjectNotFoundError

__all__ = ["InMemoryStorage"]


class InMemoryStorage(Storage):
    """Objects held in a process-local dict; thread-safe.

    Version tokens come from a per-storage counter, so an object deleted and
    re-created never gets back an old token. Pickling copies the objects: the
    copy is an independent storage.

    Parameters
    ----------
    max_concurrent_requests
        Upper bound on concurrent calls per event loop.
    """

    def __init__(self, *, max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        super().__init__(max_concurrent_requests=max_concurrent_requests)
        self._objects: dict[str, tuple[bytes, int, datetime]] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _repr_type(self) -> str:
        return "in-memory"

    def __getstate__(self) -> dict[str, Any]:
        # icechunk's rule: in-memory data never leaves its process (a Repository
        # handle on it pickles as an empty in-memory storage instead)
        raise TypeError("cannot pickle 'InMemoryStorage' object: its data lives only in this "
                        "process; use local_filesystem_storage or an object store to share a "
                        "repository with other processes")

    def _entry(self, path: str) -> tuple[bytes, int, datetime]:
        try:
            return self._objects[path]
        except KeyError:
            raise ObjectNotFoundError(path) from None

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        with self._lock:
            data = self._entry(path)[0]
        if byte_range is None:
            return data
        start, stop = resolve_byte_range(byte_range, len(data))
        return data[start:stop]

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        with self._lock:
            data, version, _ = self._entry(path)
        return data, VersionToken(str(version))

    async def _put_object(self, path: str, data: bytes) -> None:
        with self._lock:
            self._objects[path] = (data, next(self._counter), datetime.now(UTC))

    async def _put_object_if(
        self, path: str, data: bytes, expected: VersionToken | None
    ) -> VersionToken:
        with self._lock:
            current = self._objects.get(path)
            if expected is None:
                if current is not None:
                    raise ConditionFailedError(path, f"object already exists: {path!r}")
            elif current is None or VersionToken(str(current[1])) != expected:
                raise ConditionFailedError(path, f"object changed since it was read: {path!r}")
            version = next(self._counter)
            self._objects[path] = (data, version, datetime.now(UTC))
        return VersionToken(str(version))

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        with self._lock:
            items = [(p, e) for p, e in self._objects.items() if p.startswith(prefix)]
        return [ObjectInfo(p, len(data), ts) for p, (data, _, ts) in sorted(items)]

    async def _delete_objects(self, paths: list[str]) -> int:
        with self._lock:
            return sum(self._objects.pop(p, None) is not None for p in paths)

    async def _object_size(self, path: str) -> int:
        with self._lock:
            return len(self._entry(path)[0])
