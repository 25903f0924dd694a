"""Read-only storage found by following an HTTP redirect (icechunk's ``redirect_storage``).

On first use, ``GET url`` is sent without following redirects automatically.
Each answer must carry a ``Location``:

* a scheme icechunk knows as a storage — ``s3``, ``gs``/``gcs``, ``r2``,
  ``tigris``, ``http+icechunk``/``http+ic``, ``https+icechunk``/``https+ic`` —
  ends the walk: that URL names the repository;
* a plain ``http(s)://`` location is followed as an ordinary redirect (at
  most 10 of them);
* anything else, or an answer without ``Location`` (e.g. a ``200`` or a
  ``404``), is a :class:`~frazil.StorageError`.

The target storage is then built through the frazil plugin registry, so
``s3://`` needs ``frazil-s3`` and ``gs://`` ``frazil-gcs`` (the error says what
to install). As in icechunk: ``s3://bucket/prefix?region=R`` (``region``
required) and ``tigris://bucket/prefix[?region=R]`` are read anonymously,
``r2://bucket/prefix?account_id=A[&region=R]`` too, ``gs://bucket/prefix``
anonymously, and ``http+icechunk://host/path`` becomes ``http://host/path``.
``target_options`` (a frazil extra) adds keywords per target scheme, e.g.
``{"s3": {"endpoint_url": ..., "allow_http": True, "force_path_style": True}}``
for an S3-compatible store; it is the only way to reach a store other than
the cloud providers' default endpoints.

The storage is read-only whatever the target: every write and delete is
refused with :class:`~frazil.ReadOnlyError` without any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from frazil.errors import ErrorKind, InvalidInputError, ReadOnlyError, StorageError
from frazil.storage import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ObjectInfo,
    Storage,
    VersionToken,
)

from frazil_http._client import HttpClient, redact_url
from frazil_http._config import HttpSettings, HttpStoreOptions
from frazil_http._storage import HttpStorage, strip_icechunk_tag

__all__ = ["HANDLED_SCHEMES", "RedirectStorage", "redirect_from_url", "redirect_storage"]

#: ``Location`` schemes that end the redirect walk (icechunk's list)
HANDLED_SCHEMES = ("s3", "gs", "gcs", "http+icechunk", "http+ic", "https+icechunk", "https+ic",
                   "r2", "tigris")
MAX_REDIRECTS = 10


def _bad(message: str) -> StorageError:
    return StorageError(f"redirect storage: {message}", ErrorKind.STORAGE_CONFIG)


def _query(url: str, name: str, required: bool) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    if not values:
        if required:
            raise _bad(f"the storage URL {redact_url(url)} needs a {name!r} query parameter")
        return None
    return values[0]


def _bucket_prefix(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise _bad(f"the storage URL {redact_url(url)} names no bucket")
    return parts.netloc.rsplit("@", 1)[-1], parts.path.lstrip("/")


class RedirectStorage(Storage):
    """A read-only repository whose location an HTTP server names by a redirect.

    Build it with :func:`redirect_storage`; see the module docstring for the rules.
    """

    def __init__(self, url: str, *, settings: HttpSettings | None = None,
                 target_options: Mapping[str, Mapping[str, Any]] | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        super().__init__(max_concurrent_requests=max_concurrent_requests)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"redirect storage needs an http(s):// URL, not "
                                    f"{redact_url(str(url))!r}", ErrorKind.CANNOT_PARSE_URL)
        self._url = url
        self._settings = settings or HttpSettings()
        self._target_options = {k.lower(): dict(v) for k, v in (target_options or {}).items()}
        self._client = HttpClient(HttpStoreOptions(), self._settings, 4)
        self._target: Storage | None = None

    @property
    def url(self) -> str:
        return redact_url(self._url)

    @property
    def can_write(self) -> bool:
        return False

    def check_can_create_repository(self) -> None:
        raise ReadOnlyError(f"cannot create a repository: {self._label()} is read-only",
                            ErrorKind.READ_ONLY_STORE)

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Kept for the target storage, which applies them once resolved."""
        super()._apply_settings(settings)
        self._applied_settings = settings
        self._target = None  # the original's target (if resolved) has the old settings

    def _repr_type(self) -> str:
        return "redirect"

    def _repr_fields(self) -> dict[str, object]:
        return {"url": self.url}  # without user info and query: they may hold secrets

    # -- resolution ------------------------------------------------------------------

    async def locate(self) -> str:
        """Follow the redirects and return the target storage URL (no caching)."""
        url = self._url
        for _ in range(MAX_REDIRECTS + 1):
            resp = await self._client.request("GET", url, allow_redirects=False)
            location = resp.header("location")
            if not location:
                raise _bad(f"{redact_url(url)} answered {resp.status} without a Location "
                           "header; it must redirect (3xx) to the repository's storage")
            target = urljoin(url, location.strip())
            scheme = urlsplit(target).scheme.lower()
            if scheme in HANDLED_SCHEMES:
                return target
            if scheme not in ("http", "https"):
                raise _bad(f"{redact_url(url)} redirects to an unknown scheme {scheme!r}; "
                           f"known: {', '.join(HANDLED_SCHEMES)}")
            url = target
        raise _bad(f"more than {MAX_REDIRECTS} redirects from {redact_url(self._url)}")

    async def target(self) -> Storage:
        """The storage the redirect names, resolved on first use and kept."""
        if self._target is None:
            # two concurrent first uses may both resolve; either result is the same
            target = self.storage_for(await self.locate())
            self._target = target.with_settings(self.__dict__.get("_applied_settings"))
        return self._target

    def storage_for(self, url: str) -> Storage:
        """Build the storage of a target URL (see the module docstring)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme.startswith("http"):
            base = strip_icechunk_tag(url)
            store = self._target_options.get("http", {}).get("store")
            return HttpStorage(base, options=HttpStoreOptions._from_dict(store),
                               settings=self._settings,
                               max_concurrent_requests=self.max_concurrent_requests)
        extra = self._target_options.get("gs" if scheme == "gcs" else scheme, {})
        try:
            if scheme in ("s3", "r2", "tigris"):  # frazil-s3 factories take the bound too
                extra = {"max_concurrent_requests": self.max_concurrent_requests, **extra}
            return self._object_store(url, scheme, extra)
        except TypeError as exc:  # a target_options keyword the backend does not take
            raise _bad(f"cannot build the {scheme}:// storage of {redact_url(url)}: "
                       f"{exc}") from None

    @staticmethod
    def _object_store(url: str, scheme: str, extra: dict[str, Any]) -> Storage:
        from frazil.plugins import get_plugins

        bucket, prefix = _bucket_prefix(url)
        plugins = get_plugins()
        if scheme == "s3":
            region = _query(url, "region", True)
            kw: dict[str, Any] = {"region": region, "anonymous": True, **extra}
            return plugins.storage_for_scheme("s3")(f"s3://{bucket}/{prefix}", **kw)
        if scheme == "r2":
            kw = {"bucket": bucket, "prefix": prefix, "anonymous": True,
                  "account_id": _query(url, "account_id", True), **extra}
            region = _query(url, "region", False)
            if region:
                kw.setdefault("region", region)
            return plugins.storage_factory("r2")(**kw)
        if scheme == "tigris":
            kw = {"bucket": bucket, "prefix": prefix, "anonymous": True,
                  "use_weak_consistency": True, **extra}
            region = _query(url, "region", False)
            if region:
                kw.setdefault("region", region)
            return plugins.storage_factory("tigris")(**kw)
        # gs / gcs
        return plugins.storage_for_scheme(scheme)(f"{scheme}://{bucket}/{prefix}",
                                                  **{"anonymous": True, **extra})

    # -- reads go to the target ---------------------------------------------------------

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        return await (await self.target()).get_object(path, byte_range)

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        return await (await self.target()).get_object_versioned(path)

    async def _object_size(self, path: str) -> int:
        return await (await self.target()).object_size(path)

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        return await (await self.target()).list_objects_async(prefix)

    # -- writes: refused ------------------------------------------------------------------

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


def redirect_storage(base_url: str, *,
                     target_options: Mapping[str, Mapping[str, Any]] | None = None,
                     max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                     **settings: Any) -> Storage:
    """A read-only storage whose location ``base_url`` names by redirects (icechunk's signature).

    Parameters
    ----------
    base_url
        URL answering a redirect (3xx) whose ``Location`` names the storage:
        ``s3://bucket/prefix?region=R``, ``gs://``, ``r2://``, ``tigris://``,
        ``http+icechunk://`` / ``https+icechunk://`` (short: ``+ic``). Plain
        ``http(s)://`` locations are followed.
    target_options
        frazil extra: keyword arguments per target scheme for the storage
        factory (``"s3"``, ``"r2"``, ``"tigris"``, ``"gs"``), e.g. an S3
        ``endpoint_url``; for ``"http"``, ``{"store": http_store(...)}``.
    max_concurrent_requests, **settings
        frazil extras, as for :func:`~frazil_http.http_storage`.
    """
    st = HttpSettings._pop_from(settings)
    if settings:
        raise InvalidInputError(f"unknown redirect_storage option(s): {sorted(settings)}",
                                ErrorKind.STORAGE_CONFIG)
    return RedirectStorage(base_url, settings=st, target_options=target_options,
                           max_concurrent_requests=max_concurrent_requests)


def redirect_from_url(url: str, **options: Any) -> Storage:
    """``redirect+http(s)://...`` (frazil's URL form) to :class:`RedirectStorage`."""
    scheme = urlsplit(url).scheme.lower()
    if not scheme.startswith("redirect+"):
        raise InvalidInputError(f"not a redirect+http(s):// URL: {redact_url(url)!r}",
                                ErrorKind.CANNOT_PARSE_URL)
    return redirect_storage(url[len("redirect+"):], **options)
