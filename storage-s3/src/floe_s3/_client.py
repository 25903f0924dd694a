"""One boto3 client per process, called from a thread pool, with floe's own retries.

boto3's client is synchronous and thread-safe. Every call runs on a
process-wide thread pool; botocore's own retries are switched off
(``total_max_attempts=1``) so that retry behaviour is floe's: exponential
backoff with jitter on 408, 429, 499, 5xx, throttling codes and connection
errors, bounded by ``max_tries`` and an optional operation deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from floe._errors import ErrorKind, StorageError

from floe_s3._config import S3Credentials, S3Options, S3Settings

__all__ = ["S3Client", "is_retryable", "status_of", "code_of"]

log = logging.getLogger("floe_s3")

_RETRY_STATUS = {408, 429, 499}
_RETRY_CODES = {"RequestTimeout", "RequestTimeoutException", "SlowDown", "Throttling",
                "ThrottlingException", "TooManyRequestsException", "InternalError",
                "ServiceUnavailable", "RequestLimitExceeded", "OperationAborted"}

_SECRET_PATTERNS = [
    re.compile(r"(x-amz-security-token[:=]\s*)[^\s,;'\"}]+", re.I),
    re.compile(r"('X-Amz-Security-Token':\s*b?')[^']+", re.I),
    re.compile(r"(Signature=)[0-9a-f]+", re.I),
    re.compile(r"(X-Amz-Credential=)[^&\s]+", re.I),
    re.compile(r"(Credential=)[^,/\s]+", re.I),
]
_BOTOCORE_LOGGERS = ("botocore.auth", "botocore.endpoint", "botocore.httpsession",
                     "botocore.parsers", "botocore.credentials", "botocore.hooks",
                     "botocore.client", "botocore.retryhandler", "botocore.awsrequest",
                     "botocore.utils", "urllib3.connectionpool")


class _RedactSecrets(logging.Filter):
    """Removes session tokens, signatures and key ids from botocore's debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - never break logging
            return True
        red = msg
        for pat in _SECRET_PATTERNS:
            red = pat.sub(r"\1***", red)
        if red != msg:
            record.msg, record.args = red, ()
        return True


_REDACTOR = _RedactSecrets()


def _install_redaction() -> None:
    for name in _BOTOCORE_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


_POOL_LOCK = threading.Lock()
_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_SIZE = 128


def _pool() -> ThreadPoolExecutor:
    global _POOL
    pid = os.getpid()
    pool = _POOL
    if pool is None or pool[0] != pid:  # a forked child cannot use its parent's threads
        with _POOL_LOCK:
            if _POOL is None or _POOL[0] != pid:
                _POOL = (pid, ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="floe-s3"))
            pool = _POOL
    return pool[1]


def status_of(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def code_of(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", ""))
    return ""


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth repeating (transient server or network trouble)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        status = status_of(exc)
        return (status is not None and (status in _RETRY_STATUS or status >= 500)) or \
            code_of(exc) in _RETRY_CODES
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError, bx.ReadTimeoutError,
                        bx.ConnectTimeoutError, bx.ResponseStreamingError,
                        ConnectionError, TimeoutError)):
        return True
    try:
        from urllib3.exceptions import ProtocolError

        return isinstance(exc, ProtocolError)
    except ImportError:  # pragma: no cover
        return False


class S3Client:
    """A picklable handle on a lazily built boto3 S3 client.

    Parameters
    ----------
    options
        Endpoint, region, addressing style.
    credentials
        How to sign requests.
    settings
        Retries, timeouts.
    max_pool_connections
        Size of the client's HTTP connection pool.
    """

    def __init__(self, options: S3Options, credentials: S3Credentials, settings: S3Settings,
                 max_pool_connections: int = 64) -> None:
        self.options = options
        self.credentials = credentials
        self.settings = settings
        self.max_pool_connections = max_pool_connections
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
        return f"S3Client(endpoint_url={self.options.endpoint_url!r}, {self.credentials!r})"

    # -- the boto3 client -----------------------------------------------------------

    def client(self) -> Any:
        made = self._client
        pid = os.getpid()
        if made is None or made[0] != pid:
            with self._lock:
                if self._client is None or self._client[0] != pid:
                    self._client = (pid, self._build())
                made = self._client
        return made[1]

    def _build(self) -> Any:
        import boto3
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        _install_redaction()
        opts, creds, st = self.options, self.credentials, self.settings
        read_timeout = st.read_timeout_s
        if opts.network_stream_timeout_seconds:
            read_timeout = min(read_timeout, float(opts.network_stream_timeout_seconds))
        config_kwargs: dict[str, Any] = dict(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=st.connect_timeout_s,
            read_timeout=read_timeout,
            max_pool_connections=max(10, self.max_pool_connections),
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            parameter_validation=False,
            s3={"addressing_style": "path" if opts.force_path_style else "auto"},
        )
        anonymous = opts.anonymous or creds.kind == "anonymous"
        if anonymous:
            config_kwargs["signature_version"] = UNSIGNED
        bsession = botocore.session.get_session()
        if creds.kind == "refreshable" and not anonymous:
            bsession._credentials = _refreshable(creds.get_credentials)  # type: ignore[arg-type]
        session = boto3.session.Session(botocore_session=bsession)
        kwargs: dict[str, Any] = {}
        if creds.kind == "static" and creds.static is not None and not anonymous:
            kwargs.update(aws_access_key_id=creds.static.access_key_id,
                          aws_secret_access_key=creds.static.secret_access_key,
                          aws_session_token=creds.static.session_token)
        region = opts.region or session.region_name or "us-east-1"
        return session.client("s3", region_name=region, endpoint_url=opts.endpoint_url,
                              config=Config(**config_kwargs), **kwargs)

    # -- calls ------------------------------------------------------------------------

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the thread pool (no retries)."""
        return await asyncio.get_running_loop().run_in_executor(_pool(), fn, *args)

    async def call(self, op: str, *, ambiguous: list[bool] | None = None,
                   post: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """Call client method ``op`` with retries; ``post(response)`` runs in the thread too.

        A retried attempt appends ``True`` to ``ambiguous`` (if given): the
        caller then knows an earlier attempt may have taken effect.
        """
        st = self.settings
        deadline = None if st.operation_timeout_s is None else \
            time.monotonic() + st.operation_timeout_s

        def attempt() -> Any:
            resp = getattr(self.client(), op)(**kwargs)
            return post(resp) if post is not None else resp

        tries = 0
        while True:
            tries += 1
            try:
                fut = self.run(attempt)
                if deadline is not None:
                    return await asyncio.wait_for(fut, max(deadline - time.monotonic(), 0.001))
                return await fut
            except TimeoutError as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    raise StorageError(f"S3 {op} timed out after {st.operation_timeout_s} s "
                                       f"({tries} attempt(s))", ErrorKind.OBJECT_STORE) from exc
                err: BaseException = exc
            except Exception as exc:  # noqa: BLE001 - classified below
                if not is_retryable(exc):
                    raise
                err = exc
            if ambiguous is not None:
                ambiguous.append(True)
            if tries >= st.max_tries:
                raise err
            delay = min(st.max_backoff_s, st.initial_backoff_s * (2 ** (tries - 1)))
            delay = random.uniform(delay / 2, delay)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise StorageError(f"S3 {op} timed out after {st.operation_timeout_s} s "
                                   f"({tries} attempt(s)): {type(err).__name__}",
                                   ErrorKind.OBJECT_STORE) from err
            log.debug("S3 %s attempt %d failed (%s); retrying in %.3f s", op, tries,
                      type(err).__name__, delay)
            await asyncio.sleep(delay)


def _refreshable(get_credentials: Callable[[], Any]) -> Any:
    from botocore.credentials import RefreshableCredentials

    def fetch() -> dict[str, Any]:
        c = get_credentials()
        expiry = getattr(c, "expires_after", None)
        if expiry is None:
            expiry = datetime.now(UTC) + timedelta(days=365 * 100)
        elif expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=UTC)
        return {"access_key": c.access_key_id, "secret_key": c.secret_access_key,
                "token": getattr(c, "session_token", None), "expiry_time": expiry.isoformat()}

    return RefreshableCredentials.create_from_metadata(fetch(), fetch, "floe-get-credentials")
