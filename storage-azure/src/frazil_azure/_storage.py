"""A frazil :class:`~frazil.storage.Storage` on Azure Blob Storage (azure-storage-blob).

* Conditional create is an upload with ``If-None-Match: *``, which Azure
  refuses with 409 ``BlobAlreadyExists``; conditional update is an upload with
  ``If-Match: <etag>``, refused with 412 ``ConditionNotMet``. Both become
  :class:`~frazil.storage.ConditionFailedError`. Version tokens are etags
  without quotes (Azure quotes them in some answers and not in others).
* A conditional write whose attempt failed in transit is retried; when the
  retry then loses, the blob is read back, and if it holds exactly the bytes
  written the earlier attempt landed: the write succeeds.
* Keys: ``<prefix>/<path>`` in the container, as icechunk lays them out.
* Errors: missing blobs -> :class:`~frazil.storage.ObjectNotFoundError`; a
  missing container, refused credentials and everything else ->
  :class:`~frazil.StorageError` naming the container and operation, never
  the credentials.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

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
    storage_settings_overrides,
)

from frazil_azure._client import AzureClient, error_code, redact_text, status_of
from frazil_azure._config import AzureOptions, AzureSettings
from frazil_azure._credentials import (
    AnyAzureCredential,
    azure_from_env_credentials,
    coerce_credentials,
)

__all__ = ["AzureStorage", "normalize_etag", "quote_etag"]

T = TypeVar("T")
_DELETE_BATCH = 256  # the Blob batch API's limit per request
_DENIED = {"AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
           "InvalidAuthenticationInfo", "AuthorizationResourceTypeMismatch",
           "AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch"}


def normalize_etag(etag: str | None) -> str:
    """An etag without quotes or a weak marker."""
    value = (etag or "").strip()
    value = value.removeprefix("W/")
    return value.strip('"')


def quote_etag(token: VersionToken | str) -> str:
    """The quoted form Azure expects in ``If-Match``."""
    value = token.value if isinstance(token, VersionToken) else token
    return f'"{normalize_etag(value)}"'


class AzureStorage(PrefixedStorage):
    """A repository under ``az://container/prefix`` of one storage account.

    Build it with :func:`~frazil_azure.azure_storage` (icechunk's signature) or directly.

    Parameters
    ----------
    container, prefix
        Where the repository lives; ``prefix`` may be empty (existing repositories only).
    options
        Account, endpoint and ``config`` keys (:class:`~frazil_azure.AzureOptions`).
    credentials
        :class:`~frazil_azure.AzureCredentials` (default: from the environment).
    settings
        Retries, timeouts, upload sizes (:class:`~frazil_azure.AzureSettings`).
    max_concurrent_requests
        Upper bound on concurrent requests per event loop.
    read_only
        Refuse every write.
    """

    def __init__(self, container: str, prefix: str | None = None, *, options: AzureOptions,
                 credentials: AnyAzureCredential | None = None,
                 settings: AzureSettings | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                 read_only: bool = False) -> None:
        if not container or "/" in container:
            raise InvalidInputError(f"invalid Azure container name: {container!r}",
                                    ErrorKind.STORAGE_CONFIG)
        super().__init__(f"Azure container {container!r}", prefix, read_only=read_only,
                         max_concurrent_requests=max_concurrent_requests)
        self._container = container
        creds = azure_from_env_credentials() if credentials is None else \
            coerce_credentials(credentials)
        self._az = AzureClient(options, creds,
                               settings or AzureSettings(), max_concurrent_requests)

    # -- properties -------------------------------------------------------------------

    @property
    def account(self) -> str:
        return self._az.options.account

    @property
    def container(self) -> str:
        return self._container

    @property
    def settings(self) -> AzureSettings:
        return self._az.settings

    def container_client(self) -> Any:
        """The SDK's ``ContainerClient`` of this process (built on first use)."""
        return self._az.container(self._container)

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Retries, timeouts and the block-upload threshold of a ``StorageSettings``, on a
        new client."""
        super()._apply_settings(settings)
        az = self._az
        changes = storage_settings_overrides(settings, AzureSettings.__dataclass_fields__)
        threshold = settings.get("minimum_size_for_multipart_upload")
        if threshold is not None:  # objects of at least this size go up as blocks
            changes["max_single_put_size"] = max(1, int(threshold) - 1)
        self._az = AzureClient(az.options, az.credentials,
                               dataclasses.replace(az.settings, **changes), az.max_connections)

    def _repr_type(self) -> str:
        return "Azure"

    def _repr_fields(self) -> dict[str, object]:
        prefix = getattr(self, "_given_prefix", self._prefix)
        return {"account": self.account, "container": self._container, "prefix": prefix or ""}

    # -- error mapping -----------------------------------------------------------------

    def _error(self, exc: BaseException, op: str, path: str | None) -> Exception:
        from azure.core import exceptions as ax

        if isinstance(exc, StorageError):
            return exc
        where = f"az://{self._container}/{self._key(path) if path else self._prefix}"
        code, status = error_code(exc), status_of(exc)
        if code == "ContainerNotFound":
            return StorageError(f"Azure container {self._container!r} does not exist in "
                                f"account {self.account!r} ({op} {where})",
                                ErrorKind.STORAGE_CONFIG)
        if path is not None and (code == "BlobNotFound" or status == 404):
            return ObjectNotFoundError(path)
        if status == 412 or code in ("ConditionNotMet", "BlobAlreadyExists"):
            return ConditionFailedError(path or "")
        if code in _DENIED or status in (401, 403) or isinstance(
                exc, ax.ClientAuthenticationError):
            return StorageError(f"Azure refused the credentials or access for {op} {where} "
                                f"(account {self.account!r}): {code or status}",
                                ErrorKind.OBJECT_STORE)
        if isinstance(exc, ax.HttpResponseError) and status is not None:
            return StorageError(f"Azure {op} {where} failed: {status} {code}".rstrip(),
                                ErrorKind.OBJECT_STORE)
        return StorageError(f"Azure {op} {where} failed: {type(exc).__name__}: "
                            f"{_first_line(exc)}", ErrorKind.OBJECT_STORE)

    async def _call(self, op: str, path: str | None, fn: Callable[[Any], T], *,
                    ambiguous: list[bool] | None = None) -> T:
        try:
            return await self._az.call(op, self._container, fn, ambiguous=ambiguous)
        except Exception as exc:
            err = self._error(exc, op, path)
            # transport errors quote the signed URL; a refused signature is echoed back
            if redact_text(str(exc)) != str(exc) or status_of(exc) in (401, 403):
                raise err from None
            raise err from exc

    # -- reads ----------------------------------------------------------------------------

    async def _download(self, path: str, offset: int | None, length: int | None) -> bytes:
        key = self._key(path)
        direct = self._az.direct()

        def run(cc: Any) -> bytes:
            if direct is not None:
                return direct.get(self._container, key, offset, length)[0]
            stream = cc.download_blob(key, offset=offset, length=length)
            return stream.readall()  # type: ignore[no-any-return]

        return await self._call("get", path, run)

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        if byte_range is None or byte_range == (0, None):
            return await self._download(path, None, None)
        start, end = byte_range
        if start < 0 or (end is not None and end <= start):
            # Azure has no suffix ranges; empty ranges still need the object to exist
            size = await self._object_size(path)
            lo, hi = resolve_byte_range(byte_range, size)
            return b"" if hi <= lo else await self._download(path, lo, hi - lo)
        try:
            return await self._download(path, start, None if end is None else end - start)
        except StorageError as exc:
            if status_of(exc.__cause__) != 416:
                raise
        # 416: the range starts at or past the end (or the blob is empty)
        size = await self._object_size(path)
        lo, hi = resolve_byte_range(byte_range, size)
        return b"" if hi <= lo else await self._download(path, lo, hi - lo)

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        key = self._key(path)

        direct = self._az.direct()

        def run(cc: Any) -> tuple[bytes, VersionToken]:
            if direct is not None:
                data, etag = direct.get(self._container, key)
                return data, VersionToken(normalize_etag(etag))
            stream = cc.download_blob(key)
            data = stream.readall()
            return data, VersionToken(normalize_etag(stream.properties.etag))

        return await self._call("get", path, run)

    async def _object_size(self, path: str) -> int:
        key = self._key(path)

        direct = self._az.direct()

        def run(cc: Any) -> int:
            if direct is not None:
                return direct.head(self._container, key)[0]
            return int(cc.get_blob_client(key).get_blob_properties().size)

        return await self._call("head", path, run)

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        full = self._key(prefix) if prefix else (self._prefix + "/" if self._prefix else "")

        def run(cc: Any) -> list[ObjectInfo]:
            out: list[ObjectInfo] = []
            for blob in cc.list_blobs(name_starts_with=full or None, results_per_page=5000):
                modified = blob.last_modified
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                out.append(ObjectInfo(self._rel(blob.name), int(blob.size), modified))
            return out

        return await self._call("list", None, run)

    # -- writes ------------------------------------------------------------------------------

    async def _upload(self, path: str, data: bytes, *, ambiguous: list[bool] | None = None,
                      **conditions: Any) -> VersionToken:
        key = self._key(path)
        big = len(data) > self._az.settings.max_single_put_size
        direct = None if big else self._az.direct()
        if direct is not None:
            etag = conditions.get("etag")
            missing = conditions.get("match_condition") is not None and etag is None

        def run(cc: Any) -> VersionToken:
            if direct is not None:
                return VersionToken(normalize_etag(direct.put(
                    self._container, key, data, if_match=etag,
                    if_none_match="*" if missing else None)))
            resp = cc.get_blob_client(key).upload_blob(
                data, overwrite=True, max_concurrency=4 if big else 1, **conditions)
            return VersionToken(normalize_etag(resp["etag"]))

        return await self._call("put", path, run, ambiguous=ambiguous)

    async def _put_object(self, path: str, data: bytes) -> None:
        await self._upload(path, data)

    async def _put_object_if(self, path: str, data: bytes,
                             expected: VersionToken | None) -> VersionToken:
        from azure.core import MatchConditions

        cond: dict[str, Any] = ({"match_condition": MatchConditions.IfMissing}
                                if expected is None else
                                {"etag": quote_etag(expected),
                                 "match_condition": MatchConditions.IfNotModified})
        ambiguous: list[bool] = []
        try:
            return await self._upload(path, data, ambiguous=ambiguous, **cond)
        except (ConditionFailedError, ObjectNotFoundError) as exc:
            if ambiguous:  # an earlier attempt may have landed: read back
                try:
                    current, token = await self._get_object_versioned(path)
                except ObjectNotFoundError:
                    current, token = None, None
                if current == data and token is not None:
                    return token
            if isinstance(exc, ConditionFailedError):
                raise
            raise ConditionFailedError(path) from exc

    async def _delete_objects(self, paths: list[str]) -> int:
        unique = list(dict.fromkeys(paths))
        batches = [unique[i:i + _DELETE_BATCH] for i in range(0, len(unique), _DELETE_BATCH)]
        counts = await asyncio.gather(*(self._delete_batch(b) for b in batches))
        return sum(counts)

    async def _delete_batch(self, paths: list[str]) -> int:
        keys = [self._key(p) for p in paths]

        def run(cc: Any) -> int:
            deleted = 0
            failed: list[tuple[str, int]] = []
            for key, resp in zip(keys, cc.delete_blobs(*keys, raise_on_any_failure=False),
                                 strict=True):
                if resp.status_code in (200, 202):
                    deleted += 1
                elif resp.status_code != 404:
                    failed.append((key, resp.status_code))
            if failed:
                raise StorageError(f"Azure delete of {len(failed)} blob(s) in container "
                                   f"{self._container!r} failed, e.g. {failed[0][0]}: "
                                   f"{failed[0][1]}", ErrorKind.OBJECT_STORE)
            return deleted

        return await self._call("delete", None, run)


def _first_line(exc: BaseException) -> str:
    text = redact_text(str(exc)).strip().splitlines()
    return text[0][:300] if text else ""
