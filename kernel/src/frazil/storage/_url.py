"""Open a storage from a URL: ``file://`` and ``memory://`` built in, the rest via plugins."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from frazil.errors import ErrorKind, InvalidInputError
from frazil.plugins import get_plugins
from frazil.storage._base import Storage
from frazil.storage._local import LocalFileSystemStorage
from frazil.storage._memory import InMemoryStorage

__all__ = ["local_from_url", "memory_from_url", "storage_from_url"]


def storage_from_url(url: str, **options: Any) -> Storage:
    """Open the storage a URL names.

    Parameters
    ----------
    url
        ``file:///abs/path`` (or a plain path), ``memory://`` (a new, empty
        in-memory storage), or any scheme an installed plugin serves
        (``s3://bucket/prefix`` with ``frazil-s3``...).
    **options
        Passed to the backend's ``from_url``.

    Raises
    ------
    PluginNotFoundError
        If no installed plugin serves the scheme; the message says what to install.
    """
    if not isinstance(url, str) or not url:
        raise InvalidInputError(f"cannot parse storage URL {url!r}", ErrorKind.CANNOT_PARSE_URL)
    scheme = urlsplit(url).scheme.lower()
    if not scheme or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        return local_from_url(url, **options)
    return get_plugins().storage_for_scheme(scheme)(url, **options)


def local_from_url(url: str, **options: Any) -> Storage:
    """``file:///path`` (or ``file://relative/path``, or a plain path) to local storage."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return LocalFileSystemStorage(url, **options)
    path = unquote(parts.netloc + parts.path)
    if not path:
        raise InvalidInputError(f"no path in {url!r}", ErrorKind.CANNOT_PARSE_URL)
    return LocalFileSystemStorage(path, **options)


def memory_from_url(url: str, **options: Any) -> Storage:
    """``memory://`` to a new, empty in-memory storage."""
    return InMemoryStorage(**options)
