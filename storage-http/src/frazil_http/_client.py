"""A ``requests`` session per process, called from a bounded thread pool, with retries.

``requests`` is synchronous; every request runs on a thread pool of
``max_concurrent_requests`` threads, so at most that many requests of one
client are in flight. Connection errors, timeouts, bodies cut short and the
statuses 408, 429, 499 and 5xx are retried with exponential backoff and
jitter, up to ``max_tries`` attempts and an optional operation deadline. A
response whose length or ``Content-Range`` does not match what was asked is
never returned: it is retried like a broken connection.

URLs are shown without user info and query string, and header values never
leave this module, because both can carry credentials.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from frazil.errors import ErrorKind, StorageError

from frazil_http._config import HttpSettings, HttpStoreOptions

__all__ = ["BadResponse", "HttpClient", "HttpResponse", "redact_url"]

log = logging.getLogger("frazil_http")

RETRY_STATUS = frozenset({408, 429, 499, 500, 502, 503, 504})
_USER_AGENT = "frazil-http/2.0.0.dev0"
_QUERY = re.compile(r"\?[^\s)'\"]*")


class BadResponse(Exception):
    """A response that does not match the request (short body, wrong range): retried."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status, headers (lower-case names) and body of one answered request."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def redact_url(url: str) -> str:
    """``url`` without user info, query string and fragment (they may hold secrets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class HttpClient:
    """Pooled ``requests`` session with frazil's retries (see the module docstring).

    Parameters
    ----------
    options
        Transport options and headers (:class:`~frazil_http.HttpStoreOptions`).
    settings
        Retries and timeouts (:class:`~frazil_http.HttpSettings`).
    max_concurrent_requests
        Size of the connection pool and of the thread pool.
    """

    def __init__(self, options: HttpStoreOptions, settings: HttpSettings,
                 max_concurrent_requests: int) -> None:
        self.options = options
        self.settings = settings
        self.max_concurrent_requests = max(1, int(max_concurrent_requests))
        self._timeouts = options.timeouts(settings)
        _ = options.verify  # validate eagerly: a bad option fails at construction
        self._local: tuple[int, Any, ThreadPoolExecutor] | None = None
        self._lock = threading.Lock()

    # -- per-process resources (a storage travels to dask workers by pickle) ---------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_local"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _resources(self) -> tuple[Any, ThreadPoolExecutor]:
        pid = os.getpid()
        local = self._local
        if local is None or local[0] != pid:
            with self._lock:
                local = self._local
                if local is None or local[0] != pid:
                    local = (pid, self._new_session(),
                             ThreadPoolExecutor(self.max_concurrent_requests,
                                                thread_name_prefix="frazil-http"))
                    self._local = local
        return local[1], local[2]

    def _new_session(self) -> Any:
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        # no proxies or .netrc credentials from the environment: only what was configured
        session.trust_env = False
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=self.max_concurrent_requests,
                              max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = self.options.user_agent or _USER_AGENT
        # byte ranges address the stored bytes: never let a server compress the answer
        session.headers["Accept-Encoding"] = "identity"
        session.headers.update(self.options.headers)
        session.verify = self.options.verify
        if self.options.proxy_url:
            session.proxies = {"http": self.options.proxy_url, "https": self.options.proxy_url}
        return session

    def close(self) -> None:
        """Close the connection pool and the threads of this process (reopened on use)."""
        local, self._local = self._local, None
        if local is not None and local[0] == os.getpid():
            local[1].close()
            local[2].shutdown(wait=False)

    # -- requests ------------------------------------------------------------------------

    def _attempt(self, method: str, url: str, headers: Mapping[str, str] | None,
                 body: bytes | None, validate: Callable[[HttpResponse], None] | None,
                 allow_redirects: bool, timeouts: tuple[float, float]) -> HttpResponse:
        session, _ = self._resources()
        resp = session.request(method, url, headers=dict(headers or {}), data=body,
                               timeout=timeouts, allow_redirects=allow_redirects, stream=True)
        try:
            body = resp.content if method != "HEAD" else b""
        finally:
            resp.close()
        out = HttpResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                           body or b"", resp.url or url)
        length = out.header("content-length")
        if (method != "HEAD" and length is not None and length.isdigit()
                and not out.header("content-encoding") and int(length) != len(out.body)):
            raise BadResponse(f"body of {len(out.body)} bytes, Content-Length {length}")
        if validate is not None and out.status < 300:
            validate(out)
        return out

    async def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                      body: bytes | None = None,
                      validate: Callable[[HttpResponse], None] | None = None,
                      allow_redirects: bool = True) -> HttpResponse:
        """Send one logical request, retrying transient failures.

        Returns the final response whatever its status (the caller maps 404,
        403, 416...), except retryable statuses, which are retried and then
        raised as :class:`~frazil.StorageError`.
        """
        import requests

        _, pool = self._resources()
        loop = asyncio.get_running_loop()
        st = self.settings
        deadline = None if st.operation_timeout_s is None else (
            time.monotonic() + st.operation_timeout_s)
        problem = ""
        for attempt in range(st.max_tries):
            timeouts = self._timeouts
            if deadline is not None:  # no single attempt outlives the operation's deadline
                left = max(deadline - time.monotonic(), 0.05)
                timeouts = (min(timeouts[0], left), min(timeouts[1], left))
            try:
                resp = await loop.run_in_executor(
                    pool, self._attempt, method, url, headers, body, validate, allow_redirects,
                    timeouts)
            except (requests.ConnectionError, requests.Timeout, BadResponse,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                problem = f"{type(exc).__name__}: {_short(exc)}"
            except requests.RequestException as exc:  # invalid URL, bad proxy...: final
                raise StorageError(f"HTTP {method} {redact_url(url)} failed: "
                                   f"{type(exc).__name__}: {_short(exc)}",
                                   ErrorKind.STORAGE_CONFIG) from None
            else:
                if resp.status not in RETRY_STATUS:
                    return resp
                problem = f"status {resp.status}"
            if attempt + 1 == st.max_tries:
                break
            delay = min(st.max_backoff_s, st.initial_backoff_s * 2 ** attempt)
            delay = random.uniform(delay / 2, delay)
            if deadline is not None and time.monotonic() + delay >= deadline:
                problem += f" (operation timeout of {st.operation_timeout_s} s reached)"
                break
            log.debug("retrying HTTP %s %s after %s", method, redact_url(url), problem)
            await asyncio.sleep(delay)
        raise StorageError(f"HTTP {method} {redact_url(url)} failed after "
                           f"{attempt + 1} attempt(s): {problem}", ErrorKind.OBJECT_STORE)


def _short(exc: BaseException) -> str:
    """One line of an exception's text, with URLs' query strings dropped."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return _QUERY.sub("?...", text)[:300]
