"""Storage-specific error categories, under the kernel's :class:`StorageError`."""

from __future__ import annotations

from frazil.errors import ErrorKind, StorageError

__all__ = ["ConditionFailedError", "ObjectNotFoundError"]


class ObjectNotFoundError(StorageError):
    """No object exists at the requested path.

    Parameters
    ----------
    path
        The missing object's path, relative to the storage root.
    """

    default_kind = ErrorKind.OBJECT_NOT_FOUND

    def __init__(self, path: str, message: str | None = None) -> None:
        super().__init__(message or f"object not found: {path!r}")
        self.path = path

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.path, self.message))


class ConditionFailedError(StorageError):
    """A conditional write lost: the object exists, or changed since it was read.

    Callers doing read-modify-write re-read the object and retry.

    Parameters
    ----------
    path
        The object's path, relative to the storage root.
    """

    default_kind = ErrorKind.CONCURRENCY

    def __init__(self, path: str, message: str | None = None) -> None:
        super().__init__(message or f"conditional write lost for {path!r}")
        self.path = path

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.path, self.message))


for _cls in (ObjectNotFoundError, ConditionFailedError):
    _cls.__module__ = "frazil.storage"
