"""A frazil :class:`~frazil.storage.Storage` on Google Cloud Storage (google-cloud-storage).

* Version tokens are object generations. Conditional create is an upload with
  ``ifGenerationMatch=0``; conditional update one with ``ifGenerationMatch=<generation>``;
  GCS answers 412 when the condition fails -> :class:`~frazil.storage.ConditionFailedError`.
* A conditional write whose attempt failed in transit is retried; when the
  retry then loses with 412, the object is read back, and if it holds exactly
  the bytes written the earlier attempt landed: the write succeeds.
* Objects over 8 MiB are sent as resumable uploads in chunks of
  ``resumable_chunk_size``; smaller ones in one multipart request.
* Deletes go in batch requests of up to 100; an endpoint without the batch API
  (e.g. fake-gcs-server) gets concurrent single deletes instead.
* Errors: missing objects -> :class:`~frazil.storage.ObjectNotFoundError`; a
  missing bucket, refused credentials and everything else -> :class:`~frazil.StorageError`
  naming ``gs://bucket/key`` and the operation, never the credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.storage import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ConditionFailedError,
    ObjectInfo,
    ObjectNotFoundError,
    PrefixedStorage,
    VersionToken,
    resolve_byte_range,
)

from frazil_gcs._client import GcsClient, status_of
from frazil_gcs._config import (
    RESUMABLE_THRESHOLD,
    GcsOptions,
    GcsSettings,
    settings_from_storage_settings,
)
from frazil_gcs._credentials import AnyGcsCredential, as_gcs_credentials

__all__ = ["GcsStorage"]

_BATCH = 100  # sub-requests per batch request


class GcsStorage(PrefixedStorage):
    """A repository under ``gs://bucket/prefix``.

    Build it with :func:`~frazil_gcs.gcs_storage` (icechunk's signature) or directly.

    Parameters
    ----------
    bucket, prefix
        Where the repository lives; ``prefix`` may be empty.
    options
        Endpoint and transport (:class:`~frazil_gcs.GcsOptions`).
    credentials
        One of the :class:`~frazil_gcs.GcsCredentials` (default: from the environment).
    settings
        Retries, timeouts, uploads (:class:`~frazil_gcs.GcsSettings`).
    max_concurrent_requests
        Upper bound on concurrent requests per event loop.
    read_only
        Refuse every write.
    read_headers, write_headers
        Extra HTTP headers of reads (GET, HEAD) and of writes.
    """

    def __init__(self, bucket: str, prefix: str | None = None, *,
                 options: GcsOptions | None = None, credentials: AnyGcsCredential | None = None,
                 settings: GcsSettings | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                 read_only: bool = False, read_headers: dict[str, str] | None = None,
                 write_headers: dict[str, str] | None = None) -> None:
        if not bucket or "/" in bucket:
            raise InvalidInputError(f"invalid GCS bucket name: {bucket!r}",
                                    ErrorKind.STORAGE_CONFIG)
        super().__init__(f"bucket {bucket!r}", prefix, read_only=read_only,
                         max_concurrent_requests=max_concurrent_requests)
        self._bucket = bucket
        self._batch_ok: bool | None = None  # None: not tried yet
        self._gcs = GcsClient(options or GcsOptions(), as_gcs_credentials(credentials),
                              settings or GcsSettings(), max_concurrent_requests,
                              read_headers=read_headers, write_headers=write_headers)

    # -- properties -------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def settings(self) -> GcsSettings:
        return self._gcs.settings

    @property
    def client(self) -> Any:
        """The underlying ``google.cloud.storage.Client`` of this process."""
        return self._gcs.client()

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Retries, timeouts and storage classes (per metadata / chunks) of a
        ``StorageSettings``, on a new client."""
        super()._apply_settings(settings)
        self._class_of = {kind: settings.get(f"{kind}_storage_class") or self._class_of.get(kind)
                          for kind in ("metadata", "chunks")}
        g = self._gcs
        self._gcs = GcsClient(g.options, g.credentials,
                              settings_from_storage_settings(settings, g.settings),
                              g.max_connections, read_headers=g.read_headers,
                              write_headers=g.write_headers)

    def _repr_type(self) -> str:
        return "GCS"

    def _repr_fields(self) -> dict[str, object]:
        return {"bucket": self._bucket, "prefix": getattr(self, "_given_prefix", self._prefix)}

    # -- calls and errors --------------------------------------------------------------

    def _error(self, exc: BaseException, op: str, path: str | None) -> Exception:
        from google.api_core import exceptions as gx

        if isinstance(exc, StorageError):
            return exc
        where = f"gs://{self._bucket}/{self._key(path) if path else self._prefix}"
        status = status_of(exc) if isinstance(exc, gx.GoogleAPICallError) else None
        message = str(getattr(exc, "message", "") or "")
        if status == 404 and "bucket" in message.lower() and "exist" in message.lower():
            return StorageError(f"GCS bucket {self._bucket!r} does not exist ({op} {where})",
                                ErrorKind.STORAGE_CONFIG)
        if status == 404 and path is not None and "put" not in op:
            return ObjectNotFoundError(path)
        if status == 404:  # listing, or an upload: only a missing bucket answers 404
            return StorageError(f"GCS bucket {self._bucket!r} does not exist ({op} {where})",
                                ErrorKind.STORAGE_CONFIG)
        if status == 412:
            return ConditionFailedError(path or "")
        if status in (401, 403):
            return StorageError(f"GCS refused the credentials or access for {op} {where}: "
                                f"{status}", ErrorKind.OBJECT_STORE)
        from google.auth import exceptions as gae

        if isinstance(exc, gae.GoogleAuthError):
            return StorageError(f"GCS credentials failed for {op} {where}: "
                                f"{type(exc).__name__}", ErrorKind.STORAGE_CONFIG)
        detail = f"{status} {message.splitlines()[0][:200] if message else ''}" if status \
            else f"{type(exc).__name__}: {str(exc)[:200]}"
        return StorageError(f"GCS {op} {where} failed: {detail}".rstrip(), ErrorKind.OBJECT_STORE)

    async def _call(self, op: str, path: str | None, fn: Callable[[Any], Any], *,
                    ambiguous: list[bool] | None = None) -> Any:
        try:
            return await self._gcs.call(op, fn, ambiguous=ambiguous)
        except Exception as exc:
            raise self._error(exc, op, path) from exc

    #: ``metadata_storage_class`` / ``chunks_storage_class`` of the repository's settings
    _class_of: dict[str, str | None] = {}

    def _blob(self, client: Any, path: str, *, for_write: bool = False) -> Any:
        blob = client.bucket(self._bucket).blob(self._key(path))
        if for_write:
            kind = "chunks" if path.startswith("chunks/") else "metadata"
            storage_class = self._class_of.get(kind) or self._gcs.settings.storage_class
            if storage_class:
                blob.storage_class = storage_class
        return blob

    # -- reads ----------------------------------------------------------------------------

    def _download(self, path: str, start: int | None = None, end: int | None = None
                  ) -> Callable[[Any], bytes]:
        """``end`` inclusive, as google-cloud-storage takes it."""
        def run(client: Any) -> bytes:
            return self._blob(client, path).download_as_bytes(  # type: ignore[no-any-return]
                start=start, end=end, raw_download=True, retry=None, timeout=self._gcs.timeout,
                checksum="auto" if start is None and end is None else None)
        return run

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        if byte_range is None or byte_range == (0, None):
            return await self._call("get", path, self._download(path))  # type: ignore[no-any-return]
        start, end = byte_range
        if end is not None and end <= start:  # empty range: the object must still exist
            resolve_byte_range(byte_range, await self._object_size(path))
            return b""
        try:
            return await self._call(  # type: ignore[no-any-return]
                "get", path, self._download(path, start, None if end is None else end - 1))
        except StorageError as exc:
            if status_of(exc.__cause__) != 416:
                raise
        # 416: the range starts at or past the end (or the object is empty)
        lo, hi = resolve_byte_range(byte_range, await self._object_size(path))
        return b"" if hi <= lo else await self._get_object(path, (lo, hi))

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        def run(client: Any) -> tuple[bytes, VersionToken]:
            blob = self._blob(client, path)
            data = blob.download_as_bytes(raw_download=True, retry=None,
                                          timeout=self._gcs.timeout)
            if blob.generation is None:  # the response lacked x-goog-generation
                raise StorageError(f"GCS did not report the generation of "
                                   f"gs://{self._bucket}/{self._key(path)}",
                                   ErrorKind.OBJECT_STORE)
            return data, VersionToken(str(blob.generation))

        return await self._call("get", path, run)  # type: ignore[no-any-return]

    async def _object_size(self, path: str) -> int:
        def run(client: Any) -> int:
            blob = client.bucket(self._bucket).get_blob(self._key(path), retry=None,
                                                        timeout=self._gcs.timeout)
            if blob is None:
                raise ObjectNotFoundError(path)
            return int(blob.size)

        return await self._call("stat", path, run)  # type: ignore[no-any-return]

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        full = self._key(prefix) if prefix else (self._prefix + "/" if self._prefix else "")
        out: list[ObjectInfo] = []
        token: str | None = None
        page_size = self._gcs.settings.list_page_size

        def page(client: Any) -> tuple[list[ObjectInfo], str | None]:
            it = client.list_blobs(self._bucket, prefix=full or None, page_size=page_size,
                                   page_token=token, retry=None, timeout=self._gcs.timeout)
            items = []
            for blob in next(it.pages):
                modified = blob.updated
                if modified is not None and modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                items.append(ObjectInfo(self._rel(blob.name), int(blob.size or 0), modified))
            return items, it.next_page_token

        for _ in range(10_000_000):  # bounded: one turn per page
            items, token = await self._call("list", None, page)
            out.extend(items)
            if not token:
                break
        return out

    # -- writes ------------------------------------------------------------------------------

    def _upload(self, path: str, data: bytes, generation: int | None
                ) -> Callable[[Any], VersionToken]:
        def run(client: Any) -> VersionToken:
            blob = self._blob(client, path, for_write=True)
            if len(data) > RESUMABLE_THRESHOLD:
                blob.chunk_size = self._gcs.settings.resumable_chunk_size
            blob.upload_from_string(data, content_type="application/octet-stream",
                                    if_generation_match=generation, retry=None,
                                    timeout=self._gcs.timeout)
            return VersionToken(str(blob.generation))
        return run

    async def _put_object(self, path: str, data: bytes) -> None:
        await self._call("put", path, self._upload(path, data, None))

    async def _put_object_if(self, path: str, data: bytes,
                             expected: VersionToken | None) -> VersionToken:
        try:
            generation = 0 if expected is None else int(expected.value)
        except ValueError:  # not a generation: no object can be at that version
            raise ConditionFailedError(path) from None
        ambiguous: list[bool] = []
        try:
            return await self._call(  # type: ignore[no-any-return]
                "conditional put", path, self._upload(path, data, generation),
                ambiguous=ambiguous)
        except ConditionFailedError:
            if ambiguous:  # an earlier attempt may have landed: read back
                try:
                    current, token = await self._get_object_versioned(path)
                except ObjectNotFoundError:
                    raise ConditionFailedError(path) from None
                if current == data:
                    return token
            raise

    async def _delete_objects(self, paths: list[str]) -> int:
        unique = list(dict.fromkeys(paths))
        if not unique:
            return 0
        if self._batch_ok is not False:
            try:
                return await self._delete_batched(unique)
            except _NoBatchApi:
                self._batch_ok = False
        return await self._delete_singly(unique)

    async def _delete_batched(self, paths: list[str]) -> int:
        deleted = 0
        for i in range(0, len(paths), _BATCH):
            chunk = paths[i:i + _BATCH]

            def run(client: Any, chunk: list[str] = chunk) -> list[int]:
                try:
                    with client.batch(raise_exception=False) as batch:
                        for p in chunk:
                            self._blob(client, p).delete(retry=None, timeout=self._gcs.timeout)
                except ValueError as exc:  # "not multi-part": no batch API behind the endpoint
                    raise _NoBatchApi(str(exc)) from None
                return [getattr(r, "status_code", 0) for r in batch._responses]

            try:
                statuses = await self._call("batch delete", None, run)
            except StorageError as exc:
                if isinstance(exc.__cause__, _NoBatchApi) or (
                        self._batch_ok is None and status_of(exc.__cause__) in (400, 404, 501)):
                    raise _NoBatchApi(str(exc)) from exc
                raise
            self._batch_ok = True
            bad = [s for s in statuses if s not in (200, 204, 404)]
            if bad:
                raise StorageError(f"GCS batch delete under gs://{self._bucket}/{self._prefix} "
                                   f"failed for {len(bad)} object(s) (status {bad[0]})",
                                   ErrorKind.OBJECT_STORE)
            deleted += sum(1 for s in statuses if s in (200, 204))
        return deleted

    async def _delete_singly(self, paths: list[str]) -> int:
        bound = asyncio.Semaphore(self.max_concurrent_requests)

        async def one(path: str) -> bool:
            def run(client: Any) -> None:
                self._blob(client, path).delete(retry=None, timeout=self._gcs.timeout)

            async with bound:
                try:
                    await self._call("delete", path, run)
                except ObjectNotFoundError:
                    return False
                return True

        return sum(await asyncio.gather(*(one(p) for p in paths)))


class _NoBatchApi(Exception):
    """The endpoint does not speak the JSON API's batch protocol."""
