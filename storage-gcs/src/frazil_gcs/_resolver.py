"""The ``gs://`` / ``gcs://`` virtual chunk resolver: one client per container.

The kernel calls ``GcsChunkResolver(container_prefix, credentials, store=...)``
for each authorized container (``authorize_virtual_chunk_access={"gs://bucket/data/":
creds}``). ``credentials`` is ``None`` (the environment), one of the
:class:`~frazil_gcs.GcsCredentials` (``gcs_credentials(...)``), a static
credential or a :class:`~frazil_gcs.GcsBearerCredential`. ``store`` is the
container's persisted store, icechunk's ``{"gcs": {config keys}}`` (see
:func:`~frazil_gcs.gcs_store`): ``allow_http``, timeouts, an ``endpoint``.

Checksums: icechunk records either an ETag or a last-modified time with a
virtual ref. icechunk reads GCS through the XML API, whose ETag of an
ordinary object is the quoted hex MD5 of its bytes; :meth:`object_metadata`
reports that ETag (the JSON API's opaque etag for composite objects, which
have no MD5), and the object's ``updated`` time.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from frazil.errors import ErrorKind, InvalidInputError, StorageError

from frazil_gcs._client import GcsClient, status_of
from frazil_gcs._config import GcsOptions, GcsSettings, parse_config
from frazil_gcs._credentials import as_gcs_credentials, gcs_credentials

__all__ = ["GcsChunkResolver"]


def _store_options(store: Any) -> dict[str, Any]:
    """The ``config`` dict of a persisted ``{"gcs": {...}}`` store (or an ObjectStoreConfig)."""
    if store is None:
        return {}
    if hasattr(store, "kind") and hasattr(store, "options"):
        store = {store.kind: store.options}
    if isinstance(store, dict) and len(store) == 1 and "gcs" in store:
        return parse_config(store["gcs"] or {})
    raise InvalidInputError(f"not a GCS object store config: {store!r}",
                            ErrorKind.STORAGE_CONFIG)


class GcsChunkResolver:
    """Fetches byte ranges of ``gs://bucket/key`` virtual chunks of one container."""

    def __init__(self, container_prefix: str, credentials: Any = None, *,
                 store: Any = None, settings: GcsSettings | None = None) -> None:
        self.container_prefix = container_prefix
        cfg = _store_options(store)
        if credentials is None and any(k in cfg for k in (
                "service_account", "service_account_key", "application_credentials",
                "skip_signature")):
            credentials = gcs_credentials(
                service_account_file=cfg.get("service_account"),
                service_account_key=cfg.get("service_account_key"),
                application_credentials=cfg.get("application_credentials"),
                anonymous=cfg.get("skip_signature") or None)
        if settings is None:
            timeouts = {k: cfg[c] for k, c in (("read_timeout_s", "timeout"),
                                               ("connect_timeout_s", "connect_timeout"))
                        if c in cfg}
            settings = GcsSettings(**timeouts)
        options = GcsOptions(endpoint_url=cfg.get("endpoint"),
                             allow_http=bool(cfg.get("allow_http", False)),
                             project=cfg.get("project"),
                             verify_tls=not cfg.get("allow_invalid_certificates", False),
                             proxy_url=cfg.get("proxy_url"))
        self._gcs = GcsClient(options, as_gcs_credentials(credentials), settings)

    def __repr__(self) -> str:
        return f"GcsChunkResolver({self.container_prefix!r})"

    @staticmethod
    def _split(location: str) -> tuple[str, str]:
        parts = urlsplit(location)
        if parts.scheme.lower() not in ("gs", "gcs") or not parts.netloc:
            raise InvalidInputError(f"not a gs:// location: {location!r}",
                                    ErrorKind.INVALID_PATH)
        return parts.netloc, parts.path.lstrip("/")

    def _fail(self, exc: BaseException, what: str) -> StorageError:
        status = status_of(exc)
        return StorageError(f"{what}: {status or type(exc).__name__}", ErrorKind.OBJECT_STORE)

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(etag, last-modified seconds)`` of the object, for checksum checks."""
        bucket, key = self._split(location)

        def run(client: Any) -> Any:
            return client.bucket(bucket).get_blob(key, retry=None, timeout=self._gcs.timeout)

        try:
            blob = await self._gcs.call("stat", run)
        except Exception as exc:
            raise self._fail(exc, f"cannot check virtual chunk object {location!r}") from exc
        if blob is None:
            raise StorageError(f"virtual chunk object {location!r} does not exist",
                               ErrorKind.OBJECT_STORE)
        etag = f'"{base64.b64decode(blob.md5_hash).hex()}"' if blob.md5_hash else blob.etag
        return etag, None if blob.updated is None else blob.updated.timestamp()

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object at ``location`` (``gs://bucket/key``)."""
        bucket, key = self._split(location)
        if end <= start:
            return b""

        def run(client: Any) -> bytes:
            return client.bucket(bucket).blob(key).download_as_bytes(  # type: ignore[no-any-return]
                start=start, end=end - 1, raw_download=True, checksum=None, retry=None,
                timeout=self._gcs.timeout)

        try:
            data: bytes = await self._gcs.call("get", run)
        except Exception as exc:
            raise self._fail(exc, f"cannot read virtual chunk {location!r} [{start}, {end})"
                             ) from exc
        if len(data) != end - start:
            raise StorageError(f"virtual chunk {location!r} [{start}, {end}) is past the end "
                               f"of the object ({len(data)} bytes read)", ErrorKind.OBJECT_STORE)
        return data
