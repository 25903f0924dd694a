"""icechunk-style factories: ``gcs_storage`` and ``gs://`` / ``gcs://`` URLs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from frazil.errors import ErrorKind, InvalidInputError
from frazil.storage import DEFAULT_MAX_CONCURRENT_REQUESTS, Storage

from frazil_gcs._config import (
    GcsOptions,
    GcsSettings,
    parse_config,
    settings_from_storage_settings,
)
from frazil_gcs._credentials import AnyGcsCredential, as_gcs_credentials, gcs_credentials
from frazil_gcs._storage import GcsStorage

__all__ = ["gcs_from_url", "gcs_storage", "new_gcs", "request_headers"]

_SETTINGS = set(GcsSettings.__dataclass_fields__) - {"extra"}


def request_headers(headers: dict[str, str] | None, read: dict[str, str] | None,
                    write: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """``(read, write)`` header maps: ``headers`` go with both, a role's own map wins."""
    common = dict(headers or {})
    return {**common, **(read or {})}, {**common, **(write or {})}


def gcs_storage(*, bucket: str, prefix: str | None, service_account_file: str | None = None,
                service_account_key: str | None = None,
                application_credentials: str | None = None, bearer_token: str | None = None,
                anonymous: bool | None = None, from_env: bool | None = None,
                config: dict[str, str] | None = None,
                get_credentials: Callable[[], Any] | None = None,
                scatter_initial_credentials: bool = False,
                read_headers: dict[str, str] | None = None,
                write_headers: dict[str, str] | None = None,
                headers: dict[str, str] | None = None,
                endpoint_url: str | None = None, storage_settings: Any = None,
                max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                read_only: bool = False, **settings: Any) -> Storage:
    """Storage on Google Cloud Storage (icechunk's ``gcs_storage`` signature).

    Parameters
    ----------
    bucket, prefix
        Where the repository lives (an empty prefix is the bucket root, which
        existing repositories may use but new ones may not).
    service_account_file, service_account_key, application_credentials, bearer_token
        Static credentials (see :func:`gcs_static_credentials`).
    anonymous, from_env, get_credentials, scatter_initial_credentials
        Other credentials (see :func:`gcs_credentials`).
    config
        Object store options (``allow_http``, ``timeout``, ``connect_timeout``,
        ``service_account``, ``service_account_key``, ``application_credentials``,
        ``skip_signature``, ...; see :mod:`frazil_gcs._config`).
    read_headers, write_headers, headers
        Extra HTTP headers of reads (GET, HEAD), of writes, and of both (a
        role's own map wins on a conflict).

    frazil extras (keywords): ``endpoint_url``, ``storage_settings`` (icechunk's
    ``StorageSettings`` or ``RepositoryConfig.storage``: its retries, timeouts and
    storage class, overridden by the explicit keywords), ``max_concurrent_requests``,
    ``read_only`` and the :class:`GcsSettings` fields ``max_tries``,
    ``initial_backoff_s``, ``max_backoff_s``, ``connect_timeout_s``,
    ``read_timeout_s``, ``operation_timeout_s``, ``resumable_chunk_size``,
    ``list_page_size``, ``storage_class``.
    """
    cfg = _checked_config(bucket, config, settings)
    given = any(v is not None for v in (service_account_file, service_account_key,
                                        application_credentials, bearer_token))
    if not given and not anonymous and get_credentials is None:
        # credentials may also come through config, as in icechunk's object store
        service_account_file = cfg.get("service_account")
        service_account_key = cfg.get("service_account_key")
        application_credentials = cfg.get("application_credentials")
        anonymous = anonymous or cfg.get("skip_signature") or None
    creds = gcs_credentials(service_account_file=service_account_file,
                            service_account_key=service_account_key,
                            application_credentials=application_credentials,
                            bearer_token=bearer_token, from_env=from_env, anonymous=anonymous,
                            get_credentials=get_credentials,
                            scatter_initial_credentials=scatter_initial_credentials)
    return _build(bucket, prefix, creds, cfg, endpoint_url, storage_settings,
                  max_concurrent_requests, read_only, request_headers(headers, read_headers,
                                                                      write_headers), settings)


def new_gcs(bucket: str, prefix: str | None, credentials: AnyGcsCredential | None = None, *,
            config: dict[str, str] | None = None, read_headers: dict[str, str] | None = None,
            write_headers: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> Storage:
    """icechunk's ``Storage.new_gcs``: GCS storage from a credentials object.

    Without ``credentials``, as :func:`gcs_storage` without credentials (from the
    ``config`` keys, else from the environment).
    """
    if credentials is None:
        return gcs_storage(bucket=bucket, prefix=prefix, config=config,
                           read_headers=read_headers, write_headers=write_headers,
                           headers=headers)
    settings: dict[str, Any] = {}
    cfg = _checked_config(bucket, config, settings)
    return _build(bucket, prefix, as_gcs_credentials(credentials), cfg, None, None,
                  DEFAULT_MAX_CONCURRENT_REQUESTS, False,
                  request_headers(headers, read_headers, write_headers), settings)


def _checked_config(bucket: str, config: dict[str, str] | None,
                    settings: dict[str, Any]) -> dict[str, Any]:
    """The parsed ``config``; its timeouts become defaults of ``settings``."""
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise InvalidInputError(f"unknown gcs_storage option(s): {sorted(unknown)}",
                                ErrorKind.STORAGE_CONFIG)
    cfg = parse_config(config)
    if cfg.get("bucket") not in (None, bucket):
        raise InvalidInputError("config names another bucket than bucket=",
                                ErrorKind.STORAGE_CONFIG)
    if "timeout" in cfg:
        settings.setdefault("read_timeout_s", cfg["timeout"])
    if "connect_timeout" in cfg:
        settings.setdefault("connect_timeout_s", cfg["connect_timeout"])
    return cfg


def _build(bucket: str, prefix: str | None, creds: AnyGcsCredential, cfg: dict[str, Any],
           endpoint_url: str | None, storage_settings: Any, max_concurrent_requests: int,
           read_only: bool, headers: tuple[dict[str, str], dict[str, str]],
           settings: dict[str, Any]) -> Storage:
    options = GcsOptions(endpoint_url=endpoint_url or cfg.get("endpoint"),
                         allow_http=bool(cfg.get("allow_http", False)),
                         project=cfg.get("project"),
                         verify_tls=not cfg.get("allow_invalid_certificates", False),
                         proxy_url=cfg.get("proxy_url"), user_agent=cfg.get("user_agent"))
    read, write = headers
    return GcsStorage(bucket, prefix, options=options, credentials=creds,
                      settings=dataclasses.replace(
                          settings_from_storage_settings(storage_settings), **settings),
                      max_concurrent_requests=max_concurrent_requests, read_only=read_only,
                      read_headers=read, write_headers=write)


def gcs_from_url(url: str, **options: Any) -> Storage:
    """``gs://bucket/prefix`` (or ``gcs://``) to :class:`GcsStorage`.

    Options as :func:`gcs_storage`.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("gs", "gcs") or not parts.netloc:
        raise InvalidInputError(f"not a gs://bucket/prefix URL: {url!r}",
                                ErrorKind.CANNOT_PARSE_URL)
    return gcs_storage(bucket=parts.netloc, prefix=parts.path.strip("/"), **options)

