"""The ``http://`` / ``https://`` virtual chunk resolver: ranged GETs, etag checks.

The kernel builds one ``HttpChunkResolver(container_prefix, credentials,
store=...)`` per authorized container and coalesces nearby ranges of one
object into one request before calling :meth:`HttpChunkResolver.fetch`.
``store`` is the container's persisted ``{"http": {opts..., "headers": {...}}}``
(what icechunk's ``http_store(opts, headers)`` writes) or an
:class:`~frazil_http.HttpStoreOptions`. HTTP containers take no credentials:
``credentials`` must be ``None`` or the :data:`HttpAccess` sentinel (frazil's
or icechunk's), as in icechunk.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from frazil.credentials import Credentials, HttpAccess
from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.storage import DEFAULT_MAX_CONCURRENT_REQUESTS, ObjectNotFoundError

from frazil_http._client import HttpClient, redact_url
from frazil_http._config import HttpSettings, HttpStoreOptions
from frazil_http._storage import fetch_range, status_error

__all__ = ["HttpAccess", "HttpChunkResolver"]


def _is_http_access(credentials: Any) -> bool:
    # the kernel hands resolvers None for a sentinel; direct callers may pass one
    return credentials is None or isinstance(credentials, Credentials.HttpAccess) or (
        type(credentials).__name__.endswith("HttpAccess"))  # icechunk's sentinel


class HttpChunkResolver:
    """Fetches byte ranges of ``http(s)://`` virtual chunks of one container."""

    def __init__(self, container_prefix: str, credentials: Any = None, *,
                 store: HttpStoreOptions | dict[str, Any] | None = None,
                 settings: HttpSettings | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        self.container_prefix = container_prefix
        if not _is_http_access(credentials):
            raise InvalidInputError(
                f"HTTP virtual chunk container {container_prefix!r} takes no credentials "
                f"(got {type(credentials).__name__}); authorize it with None or HttpAccess",
                ErrorKind.STORAGE_CONFIG)
        options = HttpStoreOptions._from_dict(store)
        self._client = HttpClient(options, settings or HttpSettings(), max_concurrent_requests)

    def __repr__(self) -> str:
        return f"HttpChunkResolver({redact_url(self.container_prefix)!r})"

    @staticmethod
    def _check(location: str) -> str:
        parts = urlsplit(location)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"not an http(s):// location: {redact_url(location)!r}",
                                    ErrorKind.INVALID_PATH)
        return location

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(ETag, Last-Modified in seconds)`` of the object, for checksum checks."""
        resp = await self._client.request("HEAD", self._check(location))
        if resp.status == 404:
            raise ObjectNotFoundError(redact_url(location))
        if resp.status != 200:
            raise status_error(resp, "virtual chunk object")
        modified = resp.header("last-modified")
        seconds = None
        if modified:
            try:
                seconds = parsedate_to_datetime(modified).timestamp()
            except (TypeError, ValueError):
                seconds = None
        return resp.header("etag"), seconds

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object at ``location``; short objects are an error."""
        self._check(location)
        if start < 0 or end < start:
            raise InvalidInputError(f"invalid byte range {start}-{end} for "
                                    f"{redact_url(location)}", ErrorKind.INVALID_BYTE_RANGE)
        if end == start:
            return b""
        what = f"virtual chunk {redact_url(location)}"
        try:
            data = await fetch_range(self._client, location, start, end, what)
        except ObjectNotFoundError:
            raise ObjectNotFoundError(what) from None
        if data is None or len(data) != end - start:
            got = 0 if data is None else len(data)
            raise StorageError(f"{what} [{start}, {end}) is past the end of the object "
                               f"({got} of {end - start} bytes readable)",
                               ErrorKind.OBJECT_STORE)
        return data

    def close(self) -> None:
        self._client.close()
