"""Read-only storage of a repository served over HTTP(S) (a web server or a CDN).

* Object ``path`` is ``GET {base_url}/{path}``; byte ranges are ``Range``
  headers. ``404`` means the object is absent (so a missing repository is
  :class:`~frazil.RepositoryNotFoundError` and ``Repository.exists`` is
  ``False``); ``403``, other ``4xx`` and, after the retries, ``5xx`` and
  network failures are :class:`~frazil.StorageError` naming the URL.
* Every write and delete is refused with :class:`~frazil.ReadOnlyError`, as
  in icechunk.
* Listing uses WebDAV ``PROPFIND`` (``Depth: infinity``), as icechunk's HTTP
  store does. Plain web servers refuse it (nginx answers 405): listing then
  fails with a :class:`~frazil.StorageError` saying so. Reading a repository
  never lists.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from frazil.errors import ErrorKind, InvalidInputError, ReadOnlyError, StorageError
from frazil.storage import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ObjectInfo,
    ObjectNotFoundError,
    Storage,
    VersionToken,
    resolve_byte_range,
    storage_settings_overrides,
)

from frazil_http._client import BadResponse, HttpClient, HttpResponse, redact_url
from frazil_http._config import HttpSettings, HttpStoreOptions
from frazil_http._webdav import list_by_propfind

__all__ = ["HttpStorage", "fetch_range", "http_from_url", "http_storage", "status_error",
           "strip_icechunk_tag"]

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def status_error(resp: HttpResponse, what: str) -> StorageError:
    """The :class:`~frazil.StorageError` for an unexpected status of ``resp``."""
    where = redact_url(resp.url)
    if resp.status in (401, 403):
        return StorageError(f"the HTTP server refused access ({resp.status}) to {what} "
                            f"at {where}: check the headers (credentials) of the storage",
                            ErrorKind.OBJECT_STORE)
    return StorageError(f"HTTP {resp.status} for {what} at {where}", ErrorKind.OBJECT_STORE)


def _range_header(start: int, end: int | None) -> str:
    if start < 0:
        return f"bytes={start}"
    return f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"


def _check_range(start: int, end: int | None) -> Any:
    """A validator of a 206/200 answer to ``Range: _range_header(start, end)``."""
    def validate(resp: HttpResponse) -> None:
        if resp.status != 206:
            return  # a whole object (200): sliced by the caller
        match = _CONTENT_RANGE.match(resp.header("content-range") or "")
        if not match:
            raise BadResponse(f"206 without a valid Content-Range: "
                              f"{resp.header('content-range')!r}")
        lo, hi = int(match.group(1)), int(match.group(2))
        total = None if match.group(3) == "*" else int(match.group(3))
        want_lo = start if start >= 0 else (max(total + start, 0) if total is not None else lo)
        want_hi = None if end is None else end - 1
        if total is not None:
            want_hi = total - 1 if want_hi is None else min(want_hi, total - 1)
        wrong_end = want_hi is not None and hi != want_hi
        if lo != want_lo or wrong_end or len(resp.body) != hi - lo + 1:
            raise BadResponse(f"asked bytes {start}..{end}, got Content-Range {lo}-{hi} "
                              f"and {len(resp.body)} bytes")
    return validate


async def fetch_range(client: HttpClient, url: str, start: int, end: int | None,
                      what: str) -> bytes | None:
    """Bytes ``[start, end)`` (``end=None``: to the end; ``start < 0``: a suffix) of ``url``.

    Returns ``None`` when the server answers 416 (the range starts at or past
    the end); raises :class:`~frazil.storage.ObjectNotFoundError` on 404.
    """
    resp = await client.request("GET", url, headers={"Range": _range_header(start, end)},
                                validate=_check_range(start, end))
    if resp.status == 206:
        return resp.body
    if resp.status == 200:  # the server ignored Range: cut the range out of the whole body
        size = len(resp.body)
        lo, hi = (max(size + start, 0), size) if start < 0 else (
            start, size if end is None else min(end, size))
        if lo > size:
            return None
        return resp.body[lo:hi]
    if resp.status == 416:
        return None
    if resp.status == 404:
        raise ObjectNotFoundError(what)
    raise status_error(resp, what)


class HttpStorage(Storage):
    """A repository under ``base_url`` on an HTTP(S) server, read-only.

    Build it with :func:`http_storage` (icechunk's signature).

    Parameters
    ----------
    base_url
        URL of the repository's root folder (``http://`` or ``https://``).
    options
        Transport options and headers (:class:`~frazil_http.HttpStoreOptions`).
    settings
        Retries and timeouts (:class:`~frazil_http.HttpSettings`).
    max_concurrent_requests
        Upper bound on concurrent requests (also the connection pool size).
    """

    def __init__(self, base_url: str, *, options: HttpStoreOptions | None = None,
                 settings: HttpSettings | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        super().__init__(max_concurrent_requests=max_concurrent_requests)
        if not isinstance(base_url, str):
            raise InvalidInputError(f"cannot parse HTTP storage URL {base_url!r}",
                                    ErrorKind.CANNOT_PARSE_URL)
        parts = urlsplit(base_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"not an http(s):// URL with a host: "
                                    f"{redact_url(base_url)!r}", ErrorKind.CANNOT_PARSE_URL)
        options = options or HttpStoreOptions()
        if parts.scheme.lower() == "http" and not options.allow_http(base_url):
            raise InvalidInputError(f"plain http:// is disabled (allow_http=false) for "
                                    f"{redact_url(base_url)}", ErrorKind.STORAGE_CONFIG)
        self._parts = parts._replace(path=parts.path.rstrip("/"), fragment="")
        self._shown_url = redact_url(base_url)  # as given (icechunk's repr), minus secrets
        self._client = HttpClient(options, settings or HttpSettings(), max_concurrent_requests)

    # -- properties ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The repository URL, without user info and query string."""
        return redact_url(urlunsplit(self._parts))

    @property
    def settings(self) -> HttpSettings:
        return self._client.settings

    @property
    def can_write(self) -> bool:
        return False

    def check_can_create_repository(self) -> None:
        raise ReadOnlyError(f"cannot create a repository: {self._label()} is read-only",
                            ErrorKind.READ_ONLY_STORE)

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Retries and timeouts of a ``StorageSettings``, on a new client."""
        super()._apply_settings(settings)
        c = self._client
        changes = storage_settings_overrides(settings, HttpSettings.__dataclass_fields__)
        self._client = HttpClient(c.options, dataclasses.replace(c.settings, **changes),
                                  c.max_concurrent_requests)

    def _repr_type(self) -> str:
        return "HTTP"

    def _repr_fields(self) -> dict[str, object]:
        # as given, without user info and query: they may hold secrets
        return {"url": getattr(self, "_shown_url", self.base_url)}

    def url_of(self, path: str) -> str:
        """The full URL of object ``path`` (with the base URL's query string, if any)."""
        return urlunsplit(self._parts._replace(
            path=f"{self._parts.path}/{quote(path, safe='/-_.~')}"))

    def close(self) -> None:
        """Release connections and threads (they are rebuilt on next use)."""
        self._client.close()

    # -- reads ---------------------------------------------------------------------------

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        if byte_range is None or byte_range == (0, None):
            return (await self._get(path)).body
        start, end = byte_range
        if end is not None and end <= start:  # empty range: the object must still exist
            resolve_byte_range(byte_range, await self._object_size(path))
            return b""
        data = await fetch_range(self._client, self.url_of(path), start, end, path)
        if data is not None:
            return data
        # 416: the range starts at or past the end (or the object is empty)
        lo, hi = resolve_byte_range(byte_range, await self._object_size(path))
        return b"" if hi <= lo else await self._get_object(path, (lo, hi))

    async def _get(self, path: str) -> HttpResponse:
        resp = await self._client.request("GET", self.url_of(path))
        if resp.status == 200:
            return resp
        if resp.status == 404:
            raise ObjectNotFoundError(path)
        raise status_error(resp, path)

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        resp = await self._get(path)
        token = resp.header("etag") or resp.header("last-modified") or f"size:{len(resp.body)}"
        return resp.body, VersionToken(token)

    async def _object_size(self, path: str) -> int:
        resp = await self._client.request("HEAD", self.url_of(path))
        if resp.status == 404:
            raise ObjectNotFoundError(path)
        if resp.status != 200:
            raise status_error(resp, path)
        length = resp.header("content-length")
        if length is None or not length.isdigit():
            return len(await self._get_object(path, None))  # no length announced: count it
        return int(length)

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        base = urlunsplit(self._parts._replace(path=self._parts.path + "/"))
        return await list_by_propfind(self._client, base, prefix)

    # -- writes: refused -----------------------------------------------------------------

    def _refuse(self, op: str) -> ReadOnlyError:
        return ReadOnlyError(f"{op} refused: {self._label()} is read-only",
                             ErrorKind.READ_ONLY_STORE)

    async def _put_object(self, path: str, data: bytes) -> None:
        raise self._refuse(f"writing {path!r}")

    async def _put_object_if(self, path: str, data: bytes,
                             expected: VersionToken | None) -> VersionToken:
        raise self._refuse(f"writing {path!r}")

    async def _delete_objects(self, paths: list[str]) -> int:
        raise self._refuse("deleting objects")


# -- icechunk-style factories ------------------------------------------------------------------


def http_storage(base_url: str, opts: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, *,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                 **settings: Any) -> Storage:
    """A read-only storage reading a repository from an HTTP(S) server (icechunk's signature).

    Parameters
    ----------
    base_url
        URL of the repository's root folder.
    opts
        Transport options, ``object_store`` ``ClientConfigKey`` names in snake
        case; frazil honours ``allow_http``, ``allow_invalid_certificates``,
        ``connect_timeout``, ``timeout``, ``user_agent`` and ``proxy_url``
        and ignores the others, as icechunk ignores unknown keys.
    headers
        Static headers sent with every request (e.g. ``{"authorization":
        "Bearer <token>"}``); their values never appear in ``repr``.
    max_concurrent_requests
        frazil extra: bound on concurrent requests.
    **settings
        frazil extras, :class:`~frazil_http.HttpSettings` fields: ``max_tries``,
        ``initial_backoff_s``, ``max_backoff_s``, ``connect_timeout_s``,
        ``read_timeout_s``, ``operation_timeout_s``.
    """
    st = HttpSettings._pop_from(settings)
    if settings:
        raise InvalidInputError(f"unknown http_storage option(s): {sorted(settings)}",
                                ErrorKind.STORAGE_CONFIG)
    return HttpStorage(base_url, options=HttpStoreOptions(dict(opts or {}), dict(headers or {})),
                       settings=st, max_concurrent_requests=max_concurrent_requests)


def strip_icechunk_tag(url: str) -> str:
    """``http+icechunk://x`` / ``https+ic://x`` (icechunk's tagged forms) to ``http(s)://x``."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    base = scheme.lower().split("+", 1)[0]
    if "+" in scheme and base in ("http", "https"):
        return base + url[len(scheme):]
    return url


def http_from_url(url: str, **options: Any) -> Storage:
    """``http(s)://host/path`` (or ``http(s)+icechunk://``) to :class:`HttpStorage`.

    Options as :func:`http_storage`.
    """
    return http_storage(strip_icechunk_tag(url), **options)
