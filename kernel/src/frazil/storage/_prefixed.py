"""``PrefixedStorage``: the shared frame of object-store backends.

A bucket (or container) holds the repository under a key prefix. What every
such backend repeats lives here: the prefix and key arithmetic, the read-only
switch, and icechunk's refusal to create a repository at the bucket root.
"""

from __future__ import annotations

from frazil.errors import ErrorKind, InvalidInputError
from frazil.storage._base import DEFAULT_MAX_CONCURRENT_REQUESTS, Storage

__all__ = ["PrefixedStorage"]


class PrefixedStorage(Storage):
    """A storage whose objects live under ``<root>/<prefix>/`` of an object store.

    Parameters
    ----------
    root
        How messages name the bucket or container (``"bucket 'b'"``).
    prefix
        Key prefix of the repository; empty for the bucket root.
    read_only
        Refuse every write.
    max_concurrent_requests
        Upper bound on concurrent requests per event loop.
    """

    def __init__(self, root: str, prefix: str | None, *, read_only: bool = False,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        super().__init__(max_concurrent_requests=max_concurrent_requests)
        self._root_label = root
        self._prefix = (prefix or "").strip("/")
        self._given_prefix = prefix  # shown by some backends' repr as given, like icechunk
        self._read_only = read_only

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def can_write(self) -> bool:
        return not self._read_only

    def check_can_create_repository(self) -> None:
        if not self._prefix:
            raise InvalidInputError(
                f"creating a repository at the root of {self._root_label} is not supported "
                "(as in icechunk >= 2.1); use a non-empty prefix. Existing root repositories "
                "can still be opened and updated.", ErrorKind.STORAGE_CONFIG)

    def _key(self, path: str) -> str:
        """The object key of repository path ``path``."""
        return f"{self._prefix}/{path}" if self._prefix else path

    def _rel(self, key: str) -> str:
        """The repository path of object key ``key``."""
        return key[len(self._prefix) + 1:] if self._prefix else key
