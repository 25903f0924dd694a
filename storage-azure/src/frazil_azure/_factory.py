"""icechunk-style factories: ``azure_storage`` and ``az://`` / ``abfs://`` / ``azure://`` URLs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from frazil.errors import ErrorKind, InvalidInputError
from frazil.storage import DEFAULT_MAX_CONCURRENT_REQUESTS, Storage

from frazil_azure._config import AzureOptions, AzureSettings
from frazil_azure._credentials import AnyAzureCredential, azure_credentials
from frazil_azure._storage import AzureStorage

__all__ = ["AZURE_SCHEMES", "azure_from_url", "azure_storage", "new_azure_blob", "split_azure_url"]

#: URL schemes of Azure blobs, as object_store (and so icechunk) reads them
AZURE_SCHEMES = ("az", "abfs", "abfss", "azure")


def _settings(kw: dict[str, Any]) -> AzureSettings:
    names = AzureSettings.__dataclass_fields__
    return AzureSettings(**{k: kw.pop(k) for k in list(kw) if k in names})


def azure_storage(*, account: str, container: str, prefix: str,
                  access_key: str | None = None, sas_token: str | None = None,
                  bearer_token: str | None = None, from_env: bool | None = None,
                  anonymous: bool | None = None, config: dict[str, str] | None = None,
                  get_credentials: Callable[[], Any] | None = None,
                  scatter_initial_credentials: bool = False,
                  max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
                  read_only: bool = False, **settings: Any) -> Storage:
    """Storage in an Azure Blob Storage container (icechunk's ``azure_storage`` signature).

    Parameters
    ----------
    account
        The storage account.
    container
        The blob container holding the repository (it must exist).
    prefix
        The repository's folder in the container; empty only for existing
        container-root repositories.
    access_key, sas_token, bearer_token
        Static credentials (at most one).
    from_env
        Credentials from ``AZURE_STORAGE_*`` variables (the default when no
        credentials are given), else azure-identity's default chain if installed.
    anonymous
        Unsigned requests to a public container.
    config
        object_store's Azure keys, e.g. ``{"endpoint": "http://127.0.0.1:10000/devstoreaccount1",
        "allow_http": "true"}``, ``use_emulator``, ``timeout``, ``connect_timeout``,
        ``client_id``/``client_secret``/``tenant_id`` (needs azure-identity).
    get_credentials, scatter_initial_credentials
        frazil extras: refreshable credentials (see
        :func:`~frazil_azure.azure_refreshable_credentials`).
    max_concurrent_requests, read_only
        frazil extras: concurrency bound and a storage refusing writes.
    **settings
        frazil extras: fields of :class:`~frazil_azure.AzureSettings`
        (``max_tries``, ``initial_backoff_s``, ``max_backoff_s``,
        ``connect_timeout_s``, ``read_timeout_s``, ``operation_timeout_s``,
        ``max_single_put_size``, ``block_size``, ``direct_requests``).
    """
    st = _settings(settings)
    if settings:
        raise InvalidInputError(f"unknown azure_storage option(s): {sorted(settings)}",
                                ErrorKind.STORAGE_CONFIG)
    creds = azure_credentials(access_key=access_key, sas_token=sas_token,
                              bearer_token=bearer_token, from_env=from_env, anonymous=anonymous,
                              get_credentials=get_credentials,
                              scatter_initial_credentials=scatter_initial_credentials)
    return AzureStorage(container, prefix, options=AzureOptions(account, dict(config or {})),
                        credentials=creds, settings=st,
                        max_concurrent_requests=max_concurrent_requests, read_only=read_only)


def new_azure_blob(account: str, container: str, prefix: str,
                   credentials: AnyAzureCredential | None = None, *,
                   config: dict[str, str] | None = None) -> Storage:
    """icechunk's ``Storage.new_azure_blob``: Azure storage from a credentials object
    (``None``: from the environment, as :func:`azure_storage`)."""
    if not isinstance(account, str) or not account:
        raise InvalidInputError("new_azure_blob needs an account", ErrorKind.STORAGE_CONFIG)
    return AzureStorage(container, prefix, options=AzureOptions(account, dict(config or {})),
                        credentials=credentials)


def split_azure_url(url: str) -> tuple[str | None, str, str]:
    """``(account or None, container, path)`` of an Azure blob URL.

    Accepted: ``az://container/path``, ``azure://container/path``,
    ``abfs[s]://container/path`` and ``abfs[s]://container@account.dfs.core.windows.net/path``
    (also ``...blob.core.windows.net``).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in AZURE_SCHEMES or not parts.netloc:
        raise InvalidInputError(f"not an Azure blob URL (az://container/path): {url!r}",
                                ErrorKind.CANNOT_PARSE_URL)
    account = None
    container = parts.netloc
    if "@" in container:
        container, host = container.split("@", 1)
        account = host.split(".", 1)[0] or None
    path = parts.path.lstrip("/")
    return account, unquote(container), unquote(path)


def azure_from_url(url: str, **options: Any) -> Storage:
    """``az://container/prefix`` (``abfs://``, ``azure://``) to :class:`AzureStorage`.

    The account comes from ``account=``, the URL (``abfs://container@account.dfs...``)
    or ``AZURE_STORAGE_ACCOUNT_NAME``; other options as :func:`azure_storage`.
    """
    account, container, prefix = split_azure_url(url)
    account = options.pop("account", None) or account or \
        os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise InvalidInputError(f"no Azure storage account for {url!r}: pass account=, use "
                                "abfs://container@ACCOUNT.dfs.core.windows.net/..., or set "
                                "AZURE_STORAGE_ACCOUNT_NAME", ErrorKind.STORAGE_CONFIG)
    return azure_storage(account=account, container=container, prefix=prefix, **options)
