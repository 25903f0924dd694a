"""The ``s3://`` virtual chunk resolver: one client per container, its own credentials.

The kernel calls ``S3ChunkResolver(container_prefix, credentials)`` for each
authorized container (``authorize_virtual_chunk_access={"s3://bucket/data/":
creds}``). ``credentials`` is one of:

* ``None``: boto3's default chain (environment, config files, roles);
* an :class:`~frazil_s3.S3Credentials` (``s3_credentials(...)``,
  ``s3_anonymous_credentials()``...);
* an :class:`S3ContainerAccess` (``s3_container_access(store, credentials)``),
  which also carries endpoint/region options (``s3_store(...)``) overriding
  the container's persisted ones.

The kernel passes the container's persisted store settings as ``store=``
(icechunk's ``{"s3" | "s3_compatible": {endpoint_url, region, allow_http,
force_path_style, ...}}``); an :class:`S3Options` is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from frazil.errors import ErrorKind, InvalidInputError, StorageError

from frazil_s3._client import S3Client, code_of, status_of
from frazil_s3._config import S3Credentials, S3Options, S3Settings, s3_from_env_credentials

__all__ = ["S3ChunkResolver", "S3ContainerAccess", "s3_container_access"]


@dataclass(frozen=True)
class S3ContainerAccess:
    """Store options and credentials of one ``s3://`` virtual chunk container."""

    store: S3Options | None = None
    credentials: S3Credentials | None = None
    settings: S3Settings | None = None


def s3_container_access(store: S3Options | None = None,
                        credentials: S3Credentials | None = None,
                        settings: S3Settings | None = None) -> S3ContainerAccess:
    """Bundle ``s3_store(...)`` and ``s3_credentials(...)``.

    The result is a value for ``authorize_virtual_chunk_access``.
    """
    return S3ContainerAccess(store, credentials, settings)


class S3ChunkResolver:
    """Fetches byte ranges of ``s3://bucket/key`` virtual chunks of one container."""

    def __init__(self, container_prefix: str, credentials: Any = None, *,
                 store: S3Options | dict[str, Any] | None = None,
                 settings: S3Settings | None = None) -> None:
        self.container_prefix = container_prefix
        if not isinstance(store, S3Options):
            store = S3Options._from_dict(store)
        if isinstance(credentials, S3ContainerAccess):
            store = credentials.store or store  # explicit access options win
            settings = settings or credentials.settings
            credentials = credentials.credentials
        if credentials is not None and not isinstance(credentials, S3Credentials):
            # duck-typed static credentials (frazil's or icechunk's S3StaticCredentials)
            if hasattr(credentials, "access_key_id"):
                from frazil_s3._config import s3_static_credentials

                credentials = s3_static_credentials(
                    access_key_id=credentials.access_key_id,
                    secret_access_key=credentials.secret_access_key,
                    session_token=getattr(credentials, "session_token", None))
            else:
                raise InvalidInputError(
                    f"unsupported credentials for {container_prefix!r}: "
                    f"{type(credentials).__name__}; use frazil_s3.s3_credentials(...)",
                    ErrorKind.STORAGE_CONFIG)
        self._s3 = S3Client(store or S3Options(), credentials or s3_from_env_credentials(),
                            settings or S3Settings())

    def __repr__(self) -> str:
        return f"S3ChunkResolver({self.container_prefix!r})"

    @staticmethod
    def _split(location: str) -> tuple[str, str]:
        parts = urlsplit(location)
        if parts.scheme.lower() not in ("s3", "s3a") or not parts.netloc:
            raise InvalidInputError(f"not an s3:// location: {location!r}",
                                    ErrorKind.INVALID_PATH)
        return parts.netloc, parts.path.lstrip("/")

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(etag, last-modified seconds)`` of the object, for checksum checks."""
        bucket, key = self._split(location)
        try:
            resp = await self._s3.call("head_object", Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            code, status = code_of(exc), status_of(exc)
            raise StorageError(f"cannot check virtual chunk object {location!r}: "
                               f"{code or status or type(exc).__name__}",
                               ErrorKind.OBJECT_STORE) from exc
        modified = resp.get("LastModified")
        return resp.get("ETag"), None if modified is None else modified.timestamp()

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object at ``location`` (``s3://bucket/key``)."""
        self._split(location)
        parts = urlsplit(location)
        if end <= start:
            return b""
        key = parts.path.lstrip("/")
        try:
            return await self._s3.call(  # type: ignore[no-any-return]
                "get_object", Bucket=parts.netloc, Key=key, Range=f"bytes={start}-{end - 1}",
                post=lambda r: r["Body"].read())
        except Exception as exc:  # noqa: BLE001
            code, status = code_of(exc), status_of(exc)
            raise StorageError(f"cannot read virtual chunk {location!r} [{start}, {end}): "
                               f"{code or status or type(exc).__name__}",
                               ErrorKind.OBJECT_STORE) from exc
