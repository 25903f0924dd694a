"""One google-cloud-storage client per process, called from a thread pool, with frazil's retries.

google-cloud-storage is synchronous and built on ``requests``. Every call runs
on a process-wide thread pool; the library's own retries are off
(``retry=None`` on every call) so that retry behaviour is frazil's: exponential
backoff with jitter on 408, 429, 5xx, broken or truncated transfers and
connection errors, bounded by ``max_tries`` and an optional deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError
from frazil.storage import SecretRedactor, call_with_retries, thread_pool

from frazil_gcs._auth import emulator_endpoint, key_endpoint, resolve_credentials
from frazil_gcs._config import GcsOptions, GcsSettings
from frazil_gcs._credentials import AnyGcsCredential

__all__ = ["GcsClient", "is_retryable", "status_of"]

log = logging.getLogger("frazil_gcs")

_SECRET = [re.compile(r"(Bearer\s+)[^\s'\",}]+", re.IGNORECASE),
           re.compile(r"((?:access_token|private_key|refresh_token|assertion)[\"']?\s*[:=]\s*"
                      r"[\"']?)[^\s'\",&}]+", re.IGNORECASE)]
_NOISY_LOGGERS = ("google.auth", "google.auth.transport.requests", "google.cloud.storage",
                  "google.resumable_media", "google.api_core", "urllib3.connectionpool",
                  "google_auth_httplib2", "google.auth._default")


_REDACTOR = SecretRedactor(_SECRET)


def _install_redaction() -> None:
    _REDACTOR.install(_NOISY_LOGGERS)


def _pool() -> ThreadPoolExecutor:
    return thread_pool("frazil-gcs")


def status_of(exc: BaseException | None) -> int | None:
    """The HTTP status of a google-api-core or resumable-media error, if any."""
    if exc is None:
        return None
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    resp = getattr(exc, "response", None)
    status = getattr(resp, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth repeating (transient server or network trouble)."""
    import requests
    from google.api_core import exceptions as gx
    from google.auth import exceptions as gae
    from urllib3 import exceptions as ux

    if isinstance(exc, gx.GoogleAPICallError):
        status = status_of(exc)
        return status is not None and (status in (408, 429) or status >= 500)
    if isinstance(exc, (requests.exceptions.SSLError, ux.SSLError)):
        return False
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                        requests.exceptions.ChunkedEncodingError, ConnectionError, TimeoutError,
                        ux.ProtocolError, ux.TimeoutError, ux.IncompleteRead,
                        gae.TransportError)):
        return True
    try:
        from google.resumable_media import common as rm
    except ImportError:  # pragma: no cover - newer releases vendor it
        return False
    if isinstance(exc, rm.DataCorruption):  # a cut-short body fails its checksum
        return True
    if isinstance(exc, rm.InvalidResponse):
        status = status_of(exc)
        return status is not None and (status in (408, 429) or status >= 500)
    return False


class GcsClient:
    """A picklable handle on a lazily built ``google.cloud.storage.Client``.

    Parameters
    ----------
    options
        Endpoint and transport options.
    credentials
        frazil's (or icechunk-shaped) GCS credentials.
    settings
        Retries and timeouts.
    max_connections
        Size of the HTTP connection pool.
    """

    def __init__(self, options: GcsOptions, credentials: AnyGcsCredential,
                 settings: GcsSettings, max_connections: int = 64, *,
                 read_headers: dict[str, str] | None = None,
                 write_headers: dict[str, str] | None = None) -> None:
        endpoint = options.endpoint_url or key_endpoint(credentials) or emulator_endpoint()
        from_env_emulator = endpoint is not None and endpoint == emulator_endpoint() and \
            options.endpoint_url is None and key_endpoint(credentials) is None
        if endpoint and endpoint.lower().startswith("http://") and not options.allow_http \
                and not from_env_emulator:
            raise InvalidInputError(f"GCS endpoint {endpoint!r} uses plain http; pass "
                                    "config={'allow_http': 'true'} to allow it",
                                    ErrorKind.STORAGE_CONFIG)
        self.endpoint = endpoint
        self.options = options
        self.credentials = credentials
        self.settings = settings
        self.max_connections = max_connections
        self.read_headers = dict(read_headers or {})
        self.write_headers = dict(write_headers or {})
        self._lock = threading.Lock()
        self._client: tuple[int, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GcsClient(endpoint={self.endpoint!r}, {self.credentials!r})"

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` socket timeouts of one attempt."""
        return (self.settings.connect_timeout_s, self.settings.read_timeout_s)

    def client(self) -> Any:
        """The ``google.cloud.storage.Client`` of this process (built on first use)."""
        made = self._client
        pid = os.getpid()
        if made is None or made[0] != pid:
            with self._lock:
                if self._client is None or self._client[0] != pid:
                    self._client = (pid, self._build())
                made = self._client
        return made[1]

    def _build(self) -> Any:
        import requests.adapters
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage

        _install_redaction()
        creds = resolve_credentials(self.credentials)
        read, write = self.read_headers, self.write_headers
        # requests lets REQUESTS_CA_BUNDLE override a session's verify=False: pass it per call
        verify: dict[str, Any] = {} if self.options.verify_tls else {"verify": False}

        class Session(AuthorizedSession):  # type: ignore[misc]
            """Adds the extra headers of reads (GET, HEAD) or of writes to every request."""

            def request(  # type: ignore[override]
                    self, method: str, url: str, data: Any = None,
                    headers: Any = None, **kwargs: Any) -> Any:
                extra = read if method.upper() in ("GET", "HEAD") else write
                if extra:
                    headers = {**extra, **(headers or {})}
                return super().request(method, url, data=data, headers=headers,
                                       **{**verify, **kwargs})

        session = Session(creds)
        adapter = requests.adapters.HTTPAdapter(pool_connections=4,
                                                pool_maxsize=max(10, self.max_connections),
                                                max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.options.verify_tls
        if self.options.proxy_url:
            session.proxies = {"http": self.options.proxy_url, "https": self.options.proxy_url}
        client_options = {"api_endpoint": self.endpoint} if self.endpoint else None
        extra: dict[str, Any] = {}
        if self.options.user_agent:
            from google.api_core.client_info import ClientInfo

            extra["client_info"] = ClientInfo(user_agent=self.options.user_agent)
        return storage.Client(project=self.options.project or "frazil-no-project",
                              credentials=creds, _http=session,
                              client_options=client_options, **extra)

    # -- calls ----------------------------------------------------------------------

    async def call(self, what: str, fn: Callable[[Any], Any], *,
                   ambiguous: list[bool] | None = None) -> Any:
        """Run ``fn(client)`` on the thread pool with retries.

        A retried attempt appends ``True`` to ``ambiguous`` (if given): the
        caller then knows an earlier attempt may have taken effect.
        """
        loop = asyncio.get_running_loop()
        return await call_with_retries(
            "GCS", what, lambda: loop.run_in_executor(_pool(), lambda: fn(self.client())),
            self.settings, is_retryable, ambiguous=ambiguous)
