"""A frazil :class:`~frazil.storage.Storage` on S3 and S3-compatible object stores.

* Conditional create is ``PutObject`` with ``If-None-Match: *``; conditional
  update is ``PutObject`` with ``If-Match: <etag>``. Version tokens are ETags.
* A conditional write whose attempt failed in transit (connection reset,
  timeout, 5xx) is retried; when the retry then loses with 412, the object is
  read back, and if it holds exactly the bytes written the earlier attempt
  landed: the write succeeds instead of reporting a spurious conflict.
* Objects of at least ``multipart_threshold`` bytes (100 MB by default) are
  uploaded in parts of ``multipart_part_size`` (>= 5 MiB) in parallel.
* Keys: ``<prefix>/<path>``. A repository at the bucket root that an older
  icechunk wrote with a leading slash (``/repo``) is found by probing, as
  icechunk does (``legacy_rooted_keys``). New repositories need a prefix.
* Errors: missing keys -> :class:`~frazil.storage.ObjectNotFoundError`; 412 ->
  :class:`~frazil.storage.ConditionFailedError`; a missing bucket, refused
  credentials and everything else -> :class:`~frazil.StorageError` naming the
  bucket and operation, never the credentials.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.storage import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ConditionFailedError,
    ObjectInfo,
    ObjectNotFoundError,
    PrefixedStorage,
    Storage,
    VersionToken,
    redact_url,
    resolve_byte_range,
    storage_settings_overrides,
)

from frazil_s3._client import S3Client, code_of, status_of
from frazil_s3._config import (
    DEFAULT_MULTIPART_THRESHOLD,
    ChecksumAlgorithm,
    S3Credentials,
    S3Options,
    S3Settings,
    request_headers,
    s3_anonymous_credentials,
    s3_credentials,
)

__all__ = ["HF_S3_ENDPOINT", "S3Storage", "hf_storage", "new_hf", "new_r2", "new_tigris",
           "r2_storage", "s3_from_options", "s3_from_url", "s3_object_store_storage", "s3_storage",
           "tigris_storage"]

_DELETE_BATCH = 1000
_NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404"}
#: objects whose presence tells a standard repository from a leading-slash one
_LAYOUT_ANCHORS = ("repo", "refs/branch.main/ref.json")
_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
                 "ExpiredToken", "InvalidToken", "AllAccessDisabled"}


class S3Storage(PrefixedStorage):
    """A repository under ``s3://bucket/prefix``.

    Build it with :func:`s3_storage` (icechunk's signature) or directly.

    Parameters
    ----------
    bucket, prefix
        Where the repository lives; ``prefix`` may be empty.
    options
        Endpoint, region, addressing (:class:`~frazil_s3.S3Options`).
    credentials
        :class:`~frazil_s3.S3Credentials`.
    settings
        Retries, timeouts, multipart, storage class (:class:`~frazil_s3.S3Settings`).
    max_concurrent_requests
        Upper bound on concurrent requests per event loop.
    read_headers, write_headers
        Extra HTTP headers of reads (GET, HEAD) and of writes.
    legacy_rooted_keys
        Key layout at the bucket root: ``None`` probes for it, ``True`` uses
        keys with a leading slash (only with an empty prefix), ``False`` never does.
    read_only
        Refuse every write (e.g. Tigris with weak consistency).
    """

    def __init__(self, bucket: str, prefix: str | None = None, *,
                 options: S3Options | None = None, credentials: S3Credentials | None = None,
                 settings: S3Settings | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                 read_headers: dict[str, str] | None = None,
                 write_headers: dict[str, str] | None = None,
                 legacy_rooted_keys: bool | None = None, read_only: bool = False) -> None:
        if not bucket or "/" in bucket:
            raise InvalidInputError(f"invalid S3 bucket name: {bucket!r}", ErrorKind.STORAGE_CONFIG)
        super().__init__(f"bucket {bucket!r}", prefix, read_only=read_only,
                         max_concurrent_requests=max_concurrent_requests)
        self._bucket = bucket
        if legacy_rooted_keys and self._prefix:
            raise InvalidInputError("legacy_rooted_keys is only valid with an empty prefix",
                                    ErrorKind.STORAGE_CONFIG)
        # "" standard keys, "/" a leading slash; None: probe on first use
        self._root: str | None = "/" if legacy_rooted_keys else (
            "" if legacy_rooted_keys is False or self._prefix else None)
        self._s3 = S3Client(options or S3Options(), credentials or s3_credentials(),
                            settings or S3Settings(), max_concurrent_requests,
                            read_headers=read_headers, write_headers=write_headers)

    # -- properties -------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def settings(self) -> S3Settings:
        return self._s3.settings

    @property
    def client(self) -> Any:
        """The underlying boto3 client of this process (built on first use)."""
        return self._s3.client()

    def _apply_settings(self, settings: dict[str, Any]) -> None:
        """Retries, timeouts, storage classes and the multipart threshold of a
        ``StorageSettings``, on a new client (the original keeps its own)."""
        super()._apply_settings(settings)
        s3 = self._s3
        changes = storage_settings_overrides(settings, S3Settings.__dataclass_fields__)
        if settings.get("storage_class"):
            changes["storage_class"] = settings["storage_class"]
        threshold = settings.get("minimum_size_for_multipart_upload")
        if threshold is not None:
            changes["multipart_threshold"] = max(1, int(threshold))
        self._class_of = {kind: settings.get(f"{kind}_storage_class") or self._class_of.get(kind)
                          for kind in ("metadata", "chunks")}
        self._s3 = S3Client(s3.options, s3.credentials, dataclasses.replace(s3.settings, **changes),
                            s3.max_pool_connections, read_headers=s3.read_headers,
                            write_headers=s3.write_headers)

    def _repr_type(self) -> str:
        return getattr(self, "_shown", ("S3 (native)", None))[0]

    def _repr_fields(self) -> dict[str, object]:
        """icechunk's fields: what was set, endpoints without user info or query."""
        o = getattr(self, "_shown", (None, None))[1] or self._s3.options
        checksum = o.checksum_algorithm
        prefix = (getattr(self, "_given_prefix", self._prefix) or "").rstrip("/") or None
        return {"bucket": self._bucket, "prefix": prefix, "region": o.region,
                "endpoint_url": o.endpoint_url and redact_url(o.endpoint_url),
                "anonymous": o.anonymous or None, "allow_http": o.allow_http or None,
                "force_path_style": o.force_path_style or None,
                "requester_pays": o.requester_pays or None,
                "checksum_algorithm": None if checksum is None else checksum.name}

    def _key(self, path: str) -> str:
        """The object key of ``path`` (the layout must be known: see :meth:`_k`)."""
        return f"{self._prefix}/{path}" if self._prefix else f"{self._root or ''}{path}"

    async def _k(self, path: str) -> str:
        if self._root is None:
            self._root = await self._probe_layout()
        return self._key(path)

    def _rel(self, key: str) -> str:
        return key[len(self._prefix) + 1:] if self._prefix else key[len(self._root or ""):]

    async def _probe_layout(self) -> str:
        """Standard or leading-slash keys at the bucket root, told by the anchors' ETags.

        The same ETag under both keys means the store folds ``/x`` into ``x``
        (standard layout); distinct objects under both is refused as ambiguous.
        """
        async def etag(key: str) -> str | None:
            try:
                resp = await self._call("head_object", None, Key=key)
            except StorageError as exc:
                cause = exc.__cause__
                # some stores answer 400 rather than 404 for a leading-slash key
                if cause is not None and (status_of(cause) in (404, 400)
                                          or code_of(cause) in _NOT_FOUND_CODES):
                    return None
                raise
            return str(resp.get("ETag"))

        found = await asyncio.gather(*(etag(k) for a in _LAYOUT_ANCHORS for k in (a, "/" + a)))
        standard = rooted = False
        for clean, slash in zip(found[::2], found[1::2], strict=True):
            standard |= clean is not None
            rooted |= slash is not None and slash != clean
        if standard and rooted:
            raise StorageError(f"the repository at the root of bucket {self._bucket!r} has "
                               "objects under both standard and leading-slash keys; this is "
                               "ambiguous (see icechunk issue 2239)", ErrorKind.OBJECT_STORE)
        return "/" if rooted else ""

    # -- error mapping -----------------------------------------------------------------

    def _error(self, exc: BaseException, op: str, path: str | None = None) -> Exception:
        from botocore import exceptions as bx

        where = f"s3://{self._bucket}/{self._key(path) if path else self._prefix}"
        if isinstance(exc, bx.ClientError):
            code, status = code_of(exc), status_of(exc)
            if code == "NoSuchBucket":
                return StorageError(f"S3 bucket {self._bucket!r} does not exist ({op} {where})",
                                    ErrorKind.STORAGE_CONFIG)
            if path is not None and (code in _NOT_FOUND_CODES or status == 404):
                return ObjectNotFoundError(path)
            if status == 412 or code == "PreconditionFailed":
                return ConditionFailedError(path or "")
            if code in _DENIED_CODES or status == 403:
                return StorageError(f"S3 refused the credentials or access for {op} {where}: "
                                    f"{code or status}", ErrorKind.OBJECT_STORE)
            msg = exc.response.get("Error", {}).get("Message", "")
            return StorageError(f"S3 {op} {where} failed: {code or status} {msg}".rstrip(),
                                ErrorKind.OBJECT_STORE)
        if isinstance(exc, bx.NoCredentialsError):
            return StorageError(f"no S3 credentials found for {op} {where}: pass credentials, "
                                "from_env=True with AWS_* variables set, or anonymous=True",
                                ErrorKind.STORAGE_CONFIG)
        if isinstance(exc, StorageError):
            return exc
        return StorageError(f"S3 {op} {where} failed: {type(exc).__name__}: {exc}",
                            ErrorKind.OBJECT_STORE)

    async def _call(self, op: str, path: str | None, *, ambiguous: list[bool] | None = None,
                    post: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        try:
            return await self._s3.call(op, ambiguous=ambiguous, post=post,
                                       Bucket=self._bucket, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, op, path) from exc

    # -- reads ----------------------------------------------------------------------------

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        key = await self._k(path)
        if byte_range is None or byte_range == (0, None):
            return await self._call("get_object", path, Key=key, post=_read_body)  # type: ignore[no-any-return]
        start, end = byte_range
        if end is not None and end <= start:  # empty range: the object must still exist
            size = await self._object_size(path)
            resolve_byte_range(byte_range, size)
            return b""
        if start < 0:
            header = f"bytes={start}"
        elif end is None:
            header = f"bytes={start}-"
        else:
            header = f"bytes={start}-{end - 1}"
        try:
            return await self._call("get_object", path, Key=key, Range=header,  # type: ignore[no-any-return]
                                    post=_read_body)
        except StorageError as exc:
            cause = exc.__cause__
            if cause is None or status_of(cause) != 416:
                raise
        # 416: the range starts at or past the end (or the object is empty)
        size = await self._object_size(path)
        lo, hi = resolve_byte_range(byte_range, size)
        return b"" if hi <= lo else await self._get_object(path, (lo, hi))

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        def post(resp: Any) -> tuple[bytes, VersionToken]:
            return resp["Body"].read(), VersionToken(resp["ETag"])

        return await self._call("get_object", path, Key=await self._k(path),
                                post=post)  # type: ignore[no-any-return]

    async def _object_size(self, path: str) -> int:
        resp = await self._call("head_object", path, Key=await self._k(path))
        return int(resp["ContentLength"])

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        full = await self._k(prefix) if prefix else (
            self._prefix + "/" if self._prefix else await self._k(""))
        out: list[ObjectInfo] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": full}
            if token:
                kwargs["ContinuationToken"] = token
            resp = await self._call("list_objects_v2", None, **kwargs)
            for item in resp.get("Contents", ()):
                modified = item["LastModified"]
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                out.append(ObjectInfo(self._rel(item["Key"]), int(item["Size"]), modified))
            if not resp.get("IsTruncated"):
                return out
            token = resp.get("NextContinuationToken")

    # -- writes ------------------------------------------------------------------------------

    def _checksum(self) -> dict[str, Any]:
        algorithm = self._s3.options.checksum_algorithm
        return {} if algorithm is None else {"ChecksumAlgorithm": algorithm.boto_name}

    #: ``metadata_storage_class`` / ``chunks_storage_class`` of the repository's settings
    _class_of: dict[str, str | None] = {}

    def _write_extra(self, path: str = "") -> dict[str, Any]:
        kind = "chunks" if path.startswith("chunks/") else "metadata"
        sc = self._class_of.get(kind) or self._s3.settings.storage_class
        return {"StorageClass": sc, **self._checksum()} if sc else self._checksum()

    async def _put_object(self, path: str, data: bytes) -> None:
        if len(data) >= self._s3.settings.multipart_threshold:
            await self._put_multipart(path, data)
            return
        await self._call("put_object", path, Key=await self._k(path), Body=data,
                         **self._write_extra(path))

    async def _put_multipart(self, path: str, data: bytes) -> None:
        key = await self._k(path)
        size = self._s3.settings.multipart_part_size
        created = await self._call("create_multipart_upload", path, Key=key,
                                   **self._write_extra(path))
        upload_id = created["UploadId"]
        view = memoryview(data)

        async def part(n: int, lo: int) -> dict[str, Any]:
            resp = await self._call("upload_part", path, Key=key, UploadId=upload_id,
                                    PartNumber=n, Body=bytes(view[lo:lo + size]),
                                    **self._checksum())
            done = {"PartNumber": n, "ETag": resp["ETag"]}
            algorithm = self._s3.options.checksum_algorithm
            if algorithm is not None and resp.get(f"Checksum{algorithm.boto_name}"):
                name = f"Checksum{algorithm.boto_name}"
                done[name] = resp[name]
            return done

        try:
            parts = await asyncio.gather(*(part(i + 1, lo)
                                           for i, lo in enumerate(range(0, len(data), size))))
            await self._call("complete_multipart_upload", path, Key=key, UploadId=upload_id,
                             MultipartUpload={"Parts": list(parts)})
        except BaseException:
            try:
                await self._call("abort_multipart_upload", path, Key=key, UploadId=upload_id)
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise

    async def _put_object_if(self, path: str, data: bytes,
                             expected: VersionToken | None) -> VersionToken:
        cond: dict[str, Any] = ({"IfNoneMatch": "*"} if expected is None
                                else {"IfMatch": expected.value})
        ambiguous: list[bool] = []
        try:
            resp = await self._call("put_object", path, ambiguous=ambiguous,
                                    Key=await self._k(path),
                                    Body=data, **cond, **self._write_extra(path))
            return VersionToken(resp["ETag"])
        except ObjectNotFoundError:  # If-Match on a missing key answers 404 on some stores
            raise ConditionFailedError(path) from None
        except StorageError as exc:
            if isinstance(exc, ConditionFailedError) or code_of(exc.__cause__ or exc) in (
                    "ConditionalRequestConflict",):
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
            raise

    async def _delete_objects(self, paths: list[str]) -> int:
        if not paths:
            return 0
        # S3 reports missing keys as deleted: count only what exists.
        unique = list(dict.fromkeys(paths))
        present = await asyncio.gather(*(self._exists_raw(p) for p in unique))
        existing = [p for p, ok in zip(unique, present, strict=True) if ok]
        await self._k("")
        for i in range(0, len(existing), _DELETE_BATCH):
            batch = existing[i:i + _DELETE_BATCH]
            resp = await self._call("delete_objects", None, Delete={
                "Objects": [{"Key": self._key(p)} for p in batch], "Quiet": True},
                **self._checksum())
            errors = resp.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(f"S3 delete of {len(errors)} object(s) under "
                                   f"s3://{self._bucket}/{self._prefix} failed, e.g. "
                                   f"{first.get('Key')}: {first.get('Code')}",
                                   ErrorKind.OBJECT_STORE)
        return len(existing)

    async def _exists_raw(self, path: str) -> bool:
        try:
            await self._object_size(path)
        except ObjectNotFoundError:
            return False
        return True


def _read_body(resp: Any) -> bytes:
    return resp["Body"].read()  # type: ignore[no-any-return]


# -- icechunk-style factories ------------------------------------------------------------------


def _settings(kw: dict[str, Any]) -> S3Settings:
    names = S3Settings.__dataclass_fields__
    given = {k: kw.pop(k) for k in list(kw) if k in names}
    if "minimum_size_for_multipart_upload" in kw:
        given["multipart_threshold"] = kw.pop("minimum_size_for_multipart_upload")
    return S3Settings(**given)


def s3_storage(*, bucket: str, prefix: str | None, region: str | None = None,
               endpoint_url: str | None = None, allow_http: bool = False,
               access_key_id: str | None = None, secret_access_key: str | None = None,
               session_token: str | None = None, expires_after: datetime | None = None,
               anonymous: bool | None = None, from_env: bool | None = None,
               get_credentials: Callable[[], Any] | None = None,
               scatter_initial_credentials: bool = False, force_path_style: bool = False,
               network_stream_timeout_seconds: int = 60, requester_pays: bool = False,
               checksum_algorithm: Any = None, legacy_rooted_keys: bool | None = None,
               read_headers: dict[str, str] | None = None,
               write_headers: dict[str, str] | None = None,
               headers: dict[str, str] | None = None,
               max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
               read_only: bool = False, **settings: Any) -> Storage:
    """Storage on S3 or an S3-compatible store (icechunk's ``s3_storage`` signature).

    ``headers`` go with every request, ``read_headers`` with GET and HEAD,
    ``write_headers`` with the others (a role's own map wins).
    ``checksum_algorithm`` (:class:`ChecksumAlgorithm`, frazil's or icechunk's)
    adds that checksum to every upload and batch delete. ``requester_pays``
    sends ``x-amz-request-payer: requester``. ``legacy_rooted_keys``: see
    :class:`S3Storage`.

    frazil extras (keywords): ``read_only``, ``max_tries``, ``initial_backoff_s``,
    ``max_backoff_s``, ``connect_timeout_s``, ``read_timeout_s``,
    ``operation_timeout_s``, ``multipart_threshold`` (alias
    ``minimum_size_for_multipart_upload``), ``multipart_part_size``,
    ``storage_class``, ``max_concurrent_requests``.
    """
    creds = s3_credentials(access_key_id=access_key_id, secret_access_key=secret_access_key,
                           session_token=session_token, expires_after=expires_after,
                           anonymous=anonymous, from_env=from_env,
                           get_credentials=get_credentials,
                           scatter_initial_credentials=scatter_initial_credentials)
    opts = S3Options(region=region, endpoint_url=endpoint_url, allow_http=allow_http,
                     anonymous=bool(anonymous), force_path_style=force_path_style,
                     network_stream_timeout_seconds=network_stream_timeout_seconds,
                     requester_pays=requester_pays,
                     checksum_algorithm=ChecksumAlgorithm.parse(checksum_algorithm))
    return s3_from_options(opts, bucket, prefix, creds, legacy_rooted_keys,
                           read_headers=read_headers, write_headers=write_headers,
                           headers=headers, max_concurrent_requests=max_concurrent_requests,
                           read_only=read_only, **settings)


def s3_from_options(config: S3Options, bucket: str, prefix: str | None,
                    credentials: S3Credentials | None = None,
                    legacy_rooted_keys: bool | None = None, *,
                    read_headers: dict[str, str] | None = None,
                    write_headers: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None,
                    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                    read_only: bool = False, shown: S3Options | None = None,
                    label: str = "S3 (native)", **settings: Any) -> S3Storage:
    """An :class:`S3Storage` from an options object and a credentials object.

    The form of icechunk's ``Storage.new_s3``; the other keywords are the frazil
    extras of :func:`s3_storage`, plus ``shown`` and ``label``: the options and the
    type name ``str(storage)`` prints (those the user gave, before defaults).
    """
    read, write = request_headers(headers, read_headers, write_headers)
    st = _settings(settings)
    if settings:
        raise InvalidInputError(f"unknown s3_storage option(s): {sorted(settings)}",
                                ErrorKind.STORAGE_CONFIG)
    if not isinstance(config, S3Options):
        raise InvalidInputError(f"config must be a frazil.S3Options, not "
                                f"{type(config).__name__}", ErrorKind.STORAGE_CONFIG)
    if credentials is not None and not isinstance(credentials, S3Credentials):
        raise InvalidInputError(f"S3 credentials must come from frazil.s3_credentials(...) "
                                f"and the like, not {type(credentials).__name__}",
                                ErrorKind.STORAGE_CONFIG)
    if credentials is None:
        credentials = s3_anonymous_credentials() if config.anonymous else s3_credentials()
    storage = S3Storage(bucket, prefix, options=config, credentials=credentials, settings=st,
                        max_concurrent_requests=max_concurrent_requests, read_headers=read,
                        write_headers=write, legacy_rooted_keys=legacy_rooted_keys,
                        read_only=read_only)
    storage._shown = (label, shown or config)
    return storage


def _with_required(user: dict[str, str], required: dict[str, str]) -> dict[str, str]:
    """``user`` headers plus ``required`` ones, which win whatever the case of the name."""
    names = {k.lower() for k in required}
    return {**{k: v for k, v in user.items() if k.lower() not in names}, **required}


_CREDENTIAL_ARGS = ("access_key_id", "secret_access_key", "session_token", "expires_after",
                    "anonymous", "from_env", "get_credentials", "scatter_initial_credentials")
_OPTION_ARGS = ("allow_http", "force_path_style", "network_stream_timeout_seconds",
                "requester_pays", "checksum_algorithm")


def _s3_keywords(given: dict[str, Any]) -> dict[str, Any]:
    """The credentials and options keywords among a factory's ``locals()``."""
    return {k: given[k] for k in (*_CREDENTIAL_ARGS, *_OPTION_ARGS) if k in given}


def _split_args(kwargs: dict[str, Any], **options: Any) -> tuple[S3Options, S3Credentials]:
    """Pop the credentials and options keywords of an icechunk-style factory."""
    creds = s3_credentials(**{k: kwargs.pop(k) for k in _CREDENTIAL_ARGS if k in kwargs})
    given = {k: kwargs.pop(k) for k in _OPTION_ARGS if k in kwargs}
    return S3Options(anonymous=creds.kind == "anonymous", **options, **given), creds


def s3_object_store_storage(*, bucket: str, prefix: str | None, region: str | None = None,
                            endpoint_url: str | None = None, allow_http: bool = False,
                            access_key_id: str | None = None,
                            secret_access_key: str | None = None,
                            session_token: str | None = None,
                            expires_after: datetime | None = None,
                            anonymous: bool | None = None, from_env: bool | None = None,
                            force_path_style: bool = False,
                            read_headers: dict[str, str] | None = None,
                            write_headers: dict[str, str] | None = None,
                            headers: dict[str, str] | None = None) -> Storage:
    """icechunk's ``s3_object_store_storage``: S3 through icechunk's other client.

    frazil has one S3 client, so this is :func:`s3_storage` with these arguments,
    printed as type ``S3`` as icechunk prints it.
    """
    kwargs = _s3_keywords(locals())
    options, creds = _split_args(kwargs, region=region, endpoint_url=endpoint_url)
    return s3_from_options(options, bucket, prefix, creds, read_headers=read_headers,
                           write_headers=write_headers, headers=headers, label="S3")


TIGRIS_ENDPOINT = "https://t3.storage.dev"


def tigris_storage(*, bucket: str, prefix: str | None, region: str | None = None,
                   endpoint_url: str | None = None, use_weak_consistency: bool = False,
                   allow_http: bool = False, access_key_id: str | None = None,
                   secret_access_key: str | None = None, session_token: str | None = None,
                   expires_after: datetime | None = None, anonymous: bool | None = None,
                   from_env: bool | None = None, get_credentials: Callable[[], Any] | None = None,
                   scatter_initial_credentials: bool = False,
                   network_stream_timeout_seconds: int = 60, checksum_algorithm: Any = None,
                   legacy_rooted_keys: bool | None = None,
                   read_headers: dict[str, str] | None = None,
                   write_headers: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> Storage:
    """Storage on Tigris (S3-compatible; default endpoint ``https://t3.storage.dev``).

    Consistent by default, as in icechunk: requests pin ``region`` (required)
    with ``X-Tigris-Regions`` and ask for ``X-Tigris-Consistent: true``; reads
    also send ``Cache-Control: no-cache``. ``use_weak_consistency=True`` reads
    from the nearest region instead and gives a read-only storage.
    Credentials and other keywords as :func:`s3_storage`.
    """
    kwargs.update(_s3_keywords(locals()))
    options, creds = _split_args(kwargs, region=region, endpoint_url=endpoint_url)
    return _new_tigris(options, bucket, prefix, use_weak_consistency, creds, legacy_rooted_keys,
                      read_headers=read_headers, write_headers=write_headers, headers=headers,
                      **kwargs)


def new_tigris(config: S3Options, bucket: str, prefix: str | None, use_weak_consistency: bool,
               credentials: S3Credentials | None = None,
               legacy_rooted_keys: bool | None = None, *,
               read_headers: dict[str, str] | None = None,
               write_headers: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> S3Storage:
    """icechunk's ``Storage.new_tigris``: Tigris from an options object (see
    :func:`tigris_storage`)."""
    return _new_tigris(config, bucket, prefix, use_weak_consistency, credentials,
                       legacy_rooted_keys, read_headers=read_headers,
                       write_headers=write_headers, headers=headers)


def _new_tigris(config: S3Options, bucket: str, prefix: str | None, use_weak_consistency: bool,
                credentials: S3Credentials | None = None,
                legacy_rooted_keys: bool | None = None, *,
                read_headers: dict[str, str] | None = None,
                write_headers: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, **extras: Any) -> S3Storage:
    """:func:`new_tigris` with the frazil extras of :func:`s3_storage`."""
    read, write = request_headers(headers, read_headers, write_headers)
    region = config.region
    if not use_weak_consistency:
        if not region:
            raise StorageError("Tigris storage needs a region for full consistency: set "
                               "region, or pass use_weak_consistency=True for a read-only, "
                               "eventually consistent storage", ErrorKind.STORAGE_CONFIG)
        pinned = {"X-Tigris-Regions": region, "X-Tigris-Consistent": "true"}
        read = _with_required(read, {**pinned, "Cache-Control": "no-cache"})
        write = _with_required(write, pinned)
    shown = dataclasses.replace(config, endpoint_url=config.endpoint_url or TIGRIS_ENDPOINT)
    read_only = bool(extras.pop("read_only", False)) or use_weak_consistency
    return s3_from_options(dataclasses.replace(shown, region=region or "auto"), bucket, prefix,
                           credentials, legacy_rooted_keys, read_headers=read,
                           write_headers=write, read_only=read_only, shown=shown, **extras)


def r2_storage(*, bucket: str | None = None, prefix: str | None = None,
               account_id: str | None = None, endpoint_url: str | None = None,
               region: str | None = None,
               allow_http: bool = False, access_key_id: str | None = None,
               secret_access_key: str | None = None, session_token: str | None = None,
               expires_after: datetime | None = None, anonymous: bool | None = None,
               from_env: bool | None = None, get_credentials: Callable[[], Any] | None = None,
               scatter_initial_credentials: bool = False,
               network_stream_timeout_seconds: int = 60, checksum_algorithm: Any = None,
               legacy_rooted_keys: bool | None = None,
               read_headers: dict[str, str] | None = None,
               write_headers: dict[str, str] | None = None,
               headers: dict[str, str] | None = None, **kwargs: Any) -> Storage:
    """Storage on Cloudflare R2 (``account_id`` or ``endpoint_url`` required).

    Without ``bucket``, ``prefix`` is ``"bucket/prefix"``, as in icechunk.
    Credentials and other keywords as :func:`s3_storage`.
    """
    kwargs.update(_s3_keywords(locals()))
    options, creds = _split_args(kwargs, region=region, endpoint_url=endpoint_url)
    return _new_r2(options, bucket, prefix, account_id, creds, legacy_rooted_keys,
                  read_headers=read_headers, write_headers=write_headers, headers=headers,
                  **kwargs)


def new_r2(config: S3Options, bucket: str | None = None, prefix: str | None = None,
           account_id: str | None = None, credentials: S3Credentials | None = None,
           legacy_rooted_keys: bool | None = None, *,
           read_headers: dict[str, str] | None = None,
           write_headers: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> S3Storage:
    """icechunk's ``Storage.new_r2``: R2 from an options object (see :func:`r2_storage`)."""
    return _new_r2(config, bucket, prefix, account_id, credentials, legacy_rooted_keys,
                   read_headers=read_headers, write_headers=write_headers, headers=headers)


def _new_r2(config: S3Options, bucket: str | None = None, prefix: str | None = None,
            account_id: str | None = None, credentials: S3Credentials | None = None,
            legacy_rooted_keys: bool | None = None, *,
            read_headers: dict[str, str] | None = None,
            write_headers: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, **extras: Any) -> S3Storage:
    """:func:`new_r2` with the frazil extras of :func:`s3_storage`."""
    endpoint_url = config.endpoint_url
    if endpoint_url is None:
        if not account_id:
            raise InvalidInputError("r2_storage needs account_id or endpoint_url",
                                    ErrorKind.STORAGE_CONFIG)
        endpoint_url = f"https://{account_id}.r2.cloudflarestorage.com"
    if not bucket:
        bucket, _, prefix = (prefix or "").strip("/").partition("/")
        if not bucket:
            raise InvalidInputError("r2_storage needs a bucket (or a prefix 'bucket/path')",
                                    ErrorKind.STORAGE_CONFIG)
    config = dataclasses.replace(config, region=config.region or "auto",
                                 endpoint_url=endpoint_url, force_path_style=True)
    return s3_from_options(config, bucket, prefix, credentials, legacy_rooted_keys,
                           read_headers=read_headers, write_headers=write_headers,
                           headers=headers, **extras)


#: the Hugging Face S3 gateway; ``FRAZIL_HF_S3_ENDPOINT`` replaces it (tests, mirrors)
HF_S3_ENDPOINT = "https://s3.hf.co"


def hf_storage(*, bucket: str, prefix: str | None, namespace: str,
               access_key_id: str | None = None, secret_access_key: str | None = None,
               session_token: str | None = None, expires_after: datetime | None = None,
               from_env: bool | None = None, get_credentials: Callable[[], Any] | None = None,
               scatter_initial_credentials: bool = False,
               network_stream_timeout_seconds: int = 60,
               legacy_rooted_keys: bool | None = None,
               read_headers: dict[str, str] | None = None,
               write_headers: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> Storage:
    """Storage in a Hugging Face storage bucket, through its S3-compatible gateway.

    ``namespace`` is the bucket's owner (user or organization); ``bucket`` is the
    bucket name without it. The credentials are the S3 key pair generated from a
    Hugging Face access token (the token itself is not an S3 credential).
    Requests go to ``https://s3.hf.co/<namespace>`` with path-style addressing,
    region ``us-east-1``; the environment variable ``FRAZIL_HF_S3_ENDPOINT``
    replaces ``https://s3.hf.co`` (e.g. with a local S3 server for tests).
    """
    creds = s3_credentials(access_key_id=access_key_id, secret_access_key=secret_access_key,
                           session_token=session_token, expires_after=expires_after,
                           from_env=from_env, get_credentials=get_credentials,
                           scatter_initial_credentials=scatter_initial_credentials)
    options = S3Options(network_stream_timeout_seconds=network_stream_timeout_seconds)
    return _new_hf(options, bucket, prefix, namespace, creds, legacy_rooted_keys,
                  read_headers=read_headers, write_headers=write_headers, headers=headers)


def new_hf(config: S3Options, bucket: str, prefix: str | None, namespace: str,
           credentials: S3Credentials | None = None, legacy_rooted_keys: bool | None = None, *,
           read_headers: dict[str, str] | None = None,
           write_headers: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> S3Storage:
    """icechunk's ``Storage.new_hf``: Hugging Face from an options object (see
    :func:`hf_storage`); its endpoint and addressing are always the gateway's."""
    return _new_hf(config, bucket, prefix, namespace, credentials, legacy_rooted_keys,
                   read_headers=read_headers, write_headers=write_headers, headers=headers)


def _new_hf(config: S3Options, bucket: str, prefix: str | None, namespace: str,
            credentials: S3Credentials | None = None, legacy_rooted_keys: bool | None = None, *,
            read_headers: dict[str, str] | None = None,
            write_headers: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, **extras: Any) -> S3Storage:
    """:func:`new_hf` with the frazil extras of :func:`s3_storage`."""
    if not isinstance(namespace, str) or not namespace.strip("/"):
        raise InvalidInputError("hf_storage needs a namespace (a Hugging Face user or "
                                "organization)", ErrorKind.STORAGE_CONFIG)
    base = os.environ.get("FRAZIL_HF_S3_ENDPOINT") or HF_S3_ENDPOINT
    endpoint = f"{base.rstrip('/')}/{namespace.strip('/')}"
    allow_http = config.allow_http or (base != HF_S3_ENDPOINT
                                       and endpoint.lower().startswith("http://"))
    config = dataclasses.replace(config, region=config.region or "us-east-1",
                                 endpoint_url=endpoint, allow_http=allow_http,
                                 force_path_style=True)
    return s3_from_options(config, bucket, prefix, credentials, legacy_rooted_keys,
                           read_headers=read_headers, write_headers=write_headers,
                           headers=headers, **extras)


def s3_from_url(url: str, **options: Any) -> Storage:
    """``s3://bucket/prefix`` (or ``s3a://``) to :class:`S3Storage`.

    Options as :func:`s3_storage`.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("s3", "s3a") or not parts.netloc:
        raise InvalidInputError(f"not an s3://bucket/prefix URL: {url!r}",
                                ErrorKind.CANNOT_PARSE_URL)
    return s3_storage(bucket=parts.netloc, prefix=parts.path.strip("/"), **options)


# keep the threshold importable from here too
MULTIPART_THRESHOLD = DEFAULT_MULTIPART_THRESHOLD
