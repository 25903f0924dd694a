"""Blob container clients of azure-storage-blob, called from a thread pool with frazil's retries.

The synchronous SDK client is thread-safe; every call runs on a process-wide
thread pool, and the storage's semaphore bounds how many run at once. The
SDK's own retries are off (``retry_total=0``) so that retry behaviour is
frazil's: exponential backoff with jitter on 408, 429, 5xx and transport
errors, bounded by ``max_tries`` and an optional operation deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from frazil.errors import ErrorKind, StorageError
from frazil.storage import SecretRedactor, call_with_retries, thread_pool

from frazil_azure._auth import Resolved, resolve
from frazil_azure._config import AzureOptions, AzureSettings, parse_bool, parse_duration
from frazil_azure._credentials import AnyAzureCredential
from frazil_azure._direct import DirectBlob

__all__ = ["AzureClient", "error_code", "is_retryable", "redact_text", "status_of"]

log = logging.getLogger("frazil_azure")
T = TypeVar("T")

_RETRY_STATUS = {408, 429, 499}
_SECRET_PATTERNS = [
    re.compile(r"((?:[?&]|%26)sig(?:=|%3D))[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(SharedKey\s+[^:\s]+:)[^\s'\",]+", re.IGNORECASE),
    re.compile(r"(Bearer\s+)[^\s'\",]+", re.IGNORECASE),
]
_LOGGERS = ("urllib3.connectionpool", "azure.core.pipeline.policies.http_logging_policy",
            "azure.storage.blob", "azure.core", "frazil_azure")


def redact_text(text: str) -> str:
    """``text`` with SAS signatures, shared-key signatures and bearer tokens masked."""
    for pat in _SECRET_PATTERNS:
        text = pat.sub(r"\1***", text)
    return text


_REDACTOR = SecretRedactor(_SECRET_PATTERNS)


def _install_redaction() -> None:
    _REDACTOR.install(_LOGGERS)




def _pool() -> ThreadPoolExecutor:
    return thread_pool("frazil-azure")


def status_of(exc: BaseException | None) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if isinstance(status, int) else None


def error_code(exc: BaseException | None) -> str:
    """The ``x-ms-error-code`` of an SDK error (``BlobNotFound``...), ``""`` if none."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return ""
    return str(getattr(code, "value", code))


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth repeating (transient server or network trouble)."""
    from azure.core import exceptions as ax

    if isinstance(exc, ax.ClientAuthenticationError):
        return False
    if isinstance(exc, ax.HttpResponseError) and status_of(exc) is not None:
        status = status_of(exc) or 0
        return status in _RETRY_STATUS or status >= 500
    if isinstance(exc, (ax.ServiceRequestError, ax.ServiceResponseError,
                        ax.IncompleteReadError, ax.ServiceRequestTimeoutError,
                        ax.ServiceResponseTimeoutError, ConnectionError, TimeoutError)):
        return "not permitted for non-TLS" not in str(exc)
    # an HttpResponseError without a status is a body cut short while streaming
    return isinstance(exc, ax.HttpResponseError)


class AzureClient:
    """A picklable handle on lazily built SDK clients for one account.

    Parameters
    ----------
    options
        Account, endpoint and ``config`` keys.
    credentials
        How to authenticate.
    settings
        Retries, timeouts, upload sizes.
    max_connections
        Size of the HTTP connection pool.
    """

    def __init__(self, options: AzureOptions, credentials: AnyAzureCredential,
                 settings: AzureSettings, max_connections: int = 64) -> None:
        self.options = options
        self.credentials = credentials
        self.settings = settings
        self.max_connections = max_connections
        self._lock = threading.RLock()
        self._made: dict[Any, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_made"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"AzureClient(account={self.options.account!r}, {self.credentials!r})"

    # -- the SDK clients ----------------------------------------------------------------

    def _resolved(self) -> Resolved:
        """The effective endpoint and credential now (refreshing an expiring one)."""
        made = self._made.get("auth")
        if made is None or made[0] != os.getpid() or made[1].expired():
            with self._lock:
                made = self._made.get("auth")
                if made is None or made[0] != os.getpid() or made[1].expired():
                    made = (os.getpid(), resolve(self.options, self.credentials,
                                                 None if made is None else made[1]))
                    self._made["auth"] = made
        return made[1]  # type: ignore[no-any-return]

    def _session(self) -> Any:
        made = self._made.get("session")
        if made is None or made[0] != os.getpid():
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, self.max_connections))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if parse_bool(self.options.get("allow_invalid_certificates", "false")):
                session.verify = False
            proxy = self.options.get("proxy_url")
            if proxy:
                session.proxies = {"http": proxy, "https": proxy}
            made = self._made["session"] = (os.getpid(), session)
        return made[1]

    def container(self, name: str) -> Any:
        """A ``ContainerClient`` for container ``name`` with the current credential."""
        auth = self._resolved()
        key = ("container", name)
        made = self._made.get(key)
        if made is None or made[0] is not auth:
            with self._lock:
                made = self._made.get(key)
                if made is None or made[0] is not auth:
                    made = (auth, self._build(name, auth))
                    self._made[key] = made
        return made[1]

    def _build(self, container: str, auth: Resolved) -> Any:
        from azure.core.pipeline.transport import RequestsTransport
        from azure.storage.blob import ContainerClient

        _install_redaction()
        st, opts = self.settings, self.options
        if auth.bearer and not auth.endpoint.lower().startswith("https://"):
            raise StorageError(f"bearer tokens and Entra ID credentials need an https endpoint; "
                               f"{auth.endpoint!r} is plain http", ErrorKind.STORAGE_CONFIG)
        connect = parse_duration(opts.get("connect_timeout") or st.connect_timeout_s)
        read = parse_duration(opts.get("timeout") or st.read_timeout_s)
        transport = RequestsTransport(session=self._session(), session_owner=False,
                                      connection_timeout=connect, read_timeout=read)
        kwargs: dict[str, Any] = {}
        user_agent = opts.get("user_agent")
        if user_agent:
            kwargs["user_agent"] = user_agent
        return ContainerClient(auth.endpoint, container, credential=auth.credential,
                               transport=transport, retry_total=0,
                               max_single_put_size=st.max_single_put_size,
                               max_block_size=st.block_size,
                               connection_timeout=connect, read_timeout=read, **kwargs)

    def direct(self) -> DirectBlob | None:
        """frazil's own route for single-blob GET/HEAD/PUT (``None``: SDK only).

        Used with shared keys, SAS tokens and anonymous access; Entra ID tokens
        and proxies stay with the SDK.
        """
        if not self.settings.direct_requests:
            return None
        auth = self._resolved()
        made = self._made.get("direct")
        if made is None or made[0] is not auth:
            with self._lock:
                made = self._made.get("direct")
                if made is None or made[0] is not auth:
                    made = (auth, self._build_direct(auth))
                    self._made["direct"] = made
        return made[1]  # type: ignore[no-any-return]

    def _build_direct(self, auth: Resolved) -> DirectBlob | None:
        opts, st = self.options, self.settings
        if auth.bearer or opts.get("proxy_url"):
            return None
        return DirectBlob(
            auth.endpoint, auth.account or opts.account, key=auth.key, sas=auth.sas,
            api_version=self.container("x").api_version,
            connect_timeout=parse_duration(opts.get("connect_timeout") or st.connect_timeout_s),
            read_timeout=parse_duration(opts.get("timeout") or st.read_timeout_s),
            max_connections=self.max_connections,
            verify=not parse_bool(opts.get("allow_invalid_certificates", "false")),
            user_agent=opts.get("user_agent"))

    # -- calls ----------------------------------------------------------------------------

    async def call(self, op: str, container: str, fn: Callable[[Any], T], *,
                   ambiguous: list[bool] | None = None) -> T:
        """Run ``fn(container_client)`` on the thread pool, with retries.

        A retried attempt appends ``True`` to ``ambiguous`` (if given): the
        caller then knows an earlier attempt may have taken effect.
        """
        loop = asyncio.get_running_loop()
        return await call_with_retries(
            "Azure", op,
            lambda: loop.run_in_executor(_pool(), lambda: fn(self.container(container))),
            self.settings, is_retryable, ambiguous=ambiguous)
