"""One boto3 client per process, called from a thread pool, with frazil's own retries.

boto3's client is synchronous and thread-safe. Every call runs on a
process-wide thread pool; botocore's own retries are switched off
(``total_max_attempts=1``) so that retry behaviour is frazil's: exponential
backoff with jitter on 408, 429, 499, 5xx, throttling codes and connection
errors, bounded by ``max_tries`` and an optional operation deadline.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from frazil.storage import SecretRedactor, call_with_retries, in_thread_pool

from frazil_s3._config import DEFAULT_STREAM_TIMEOUT_S, S3Credentials, S3Options, S3Settings
from frazil_s3._direct import DirectS3, FallBack

__all__ = ["S3Client", "is_retryable", "status_of", "code_of"]

log = logging.getLogger("frazil_s3")

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


_REDACTOR = SecretRedactor(_SECRET_PATTERNS)


def _install_redaction() -> None:
    _REDACTOR.install(_BOTOCORE_LOGGERS)


_POOL_LOCK = threading.Lock()
_LOADER: tuple[int, Any] | None = None
#: built clients of this process by configuration (see :meth:`S3Client._shared_key`)
_SHARED: dict[Any, tuple[Any, Any]] = {}
_SHARED_PID = os.getpid()
_SHARED_MAX = 32
#: environment variables a client built from the environment depends on
_ENV_PREFIXES = ("AWS_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                 "no_proxy", "ALL_PROXY", "all_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def _botocore_session() -> Any:
    """A new botocore session sharing this process's data loader.

    Loading and parsing the S3 service model is most of the cost of building
    a client (about 50 ms); a shared loader makes every client after the
    first cost a few milliseconds. Each storage keeps its own session (its
    credentials) and client (its event hooks, its connection pool).
    """
    import botocore.session

    global _LOADER
    session = botocore.session.get_session()
    pid = os.getpid()
    with _POOL_LOCK:
        if _LOADER is None or _LOADER[0] != pid:
            _LOADER = (pid, session.get_component("data_loader"))
        else:
            session.register_component("data_loader", _LOADER[1])
    return session




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
    from urllib3 import exceptions as ux

    # the plain route's transport errors: refused or reset connections, timeouts,
    # truncated bodies (not malformed URLs or TLS verification failures)
    return isinstance(exc, (ux.ProtocolError, ux.TimeoutError, ux.NewConnectionError,
                            ux.IncompleteRead)) and not isinstance(exc, ux.SSLError)


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
                 max_pool_connections: int = 64, *,
                 read_headers: dict[str, str] | None = None,
                 write_headers: dict[str, str] | None = None) -> None:
        self.options = options
        self.read_headers = dict(read_headers or {})
        self.write_headers = dict(write_headers or {})
        self.credentials = credentials
        self.settings = settings
        self.max_pool_connections = max_pool_connections
        self._lock = threading.Lock()
        self._made: tuple[int, _Clients] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_made"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Client(endpoint_url={self.options.endpoint_url!r}, {self.credentials!r})"

    # -- the boto3 client and the plain route ----------------------------------------

    def client(self) -> Any:
        """The boto3 client (built on first use)."""
        return self._clients().client()

    def direct(self) -> DirectS3 | None:
        """The plain-HTTP route for single-object calls (``None``: boto3 only)."""
        return self._clients().direct

    def _clients(self) -> _Clients:
        made = self._made
        pid = os.getpid()
        if made is None or made[0] != pid:
            with self._lock:
                if self._made is None or self._made[0] != pid:
                    self._made = (pid, self._shared())
                made = self._made
        return made[1]

    def _shared(self) -> _Clients:
        """The clients of this configuration in this process.

        Building a boto3 client costs about 13 ms of Python (a botocore
        session's handlers, the client's endpoint rules) and 15 MiB (the S3
        service model), and a new connection pool starts cold: that dominated
        opening a repository. Storages with the same configuration (options,
        credentials, settings, headers, pool size and the environment's
        ``AWS_*``, proxy and CA bundle variables) therefore share one
        :class:`_Clients` (thread-safe) per process.
        """
        global _SHARED_PID
        key = self._shared_key()
        pid = os.getpid()
        with _POOL_LOCK:
            if _SHARED_PID != pid:  # a forked child: its parent's sockets are not its own
                _SHARED.clear()
                _SHARED_PID = pid
            if key is not None and key in _SHARED:
                return _SHARED[key]  # type: ignore[no-any-return]
        made = _Clients(self)
        if key is not None:
            with _POOL_LOCK:
                made = _SHARED.setdefault(key, made)
                while len(_SHARED) > _SHARED_MAX:
                    del _SHARED[next(iter(_SHARED))]
        return made

    def _shared_key(self) -> Any:
        """What shared clients depend on, or ``None`` when they cannot be shared."""
        # the credential chain, the CA bundle, proxies and endpoints read the environment
        env = tuple(sorted((k, v) for k, v in os.environ.items()
                           if k.startswith(_ENV_PREFIXES)))
        key = (self.options, self.credentials, self.settings, self.max_pool_connections,
               tuple(sorted(self.read_headers.items())),
               tuple(sorted(self.write_headers.items())), env)
        try:
            hash(key)
        except TypeError:  # e.g. an unhashable get_credentials callable
            return None
        return key

    def extra_headers(self) -> tuple[dict[str, str], dict[str, str]]:
        """Headers added to reads (GET, HEAD) and to writes (everything else)."""
        read, write = dict(self.read_headers), dict(self.write_headers)
        if self.options.requester_pays:
            read["x-amz-request-payer"] = write["x-amz-request-payer"] = "requester"
        return read, write

    def _read_timeout(self) -> float:
        timeout = self.settings.read_timeout_s
        stream = self.options.network_stream_timeout_seconds
        stream = DEFAULT_STREAM_TIMEOUT_S if stream is None else stream  # unset: the default
        if stream:
            timeout = min(timeout, float(stream))
        return timeout

    @property
    def anonymous(self) -> bool:
        return self.options.anonymous or self.credentials.kind == "anonymous"

    def session(self) -> tuple[Any, Any]:
        """A botocore session holding this client's credentials, and those credentials
        (``None``: unsigned, or none found)."""
        from botocore.credentials import Credentials

        _install_redaction()
        creds = self.credentials
        session = _botocore_session()
        if self.anonymous:
            return session, None
        if creds.kind == "refreshable":
            session._credentials = _refreshable(creds.get_credentials)  # type: ignore[arg-type]
        if creds.kind == "static" and creds.static is not None:
            return session, Credentials(creds.static.access_key_id,
                                        creds.static.secret_access_key,
                                        creds.static.session_token)
        return session, session.get_credentials()

    def region(self, session: Any) -> str:
        return self.options.region or session.get_config_variable("region") or "us-east-1"

    def build_client(self, session: Any) -> Any:
        """A boto3 client on ``session`` (see :meth:`session`)."""
        from botocore import UNSIGNED
        from botocore.config import Config

        opts, creds, st = self.options, self.credentials, self.settings
        config_kwargs: dict[str, Any] = dict(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=st.connect_timeout_s,
            read_timeout=self._read_timeout(),
            max_pool_connections=max(10, self.max_pool_connections),
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            parameter_validation=False,
            s3={"addressing_style": "path" if opts.force_path_style else "auto"},
        )
        if self.anonymous:
            config_kwargs["signature_version"] = UNSIGNED
        kwargs: dict[str, Any] = {}
        if creds.kind == "static" and creds.static is not None and not self.anonymous:
            kwargs.update(aws_access_key_id=creds.static.access_key_id,
                          aws_secret_access_key=creds.static.secret_access_key,
                          aws_session_token=creds.static.session_token)
        client = session.create_client("s3", region_name=self.region(session),
                                       endpoint_url=opts.endpoint_url,
                                       config=Config(**config_kwargs), **kwargs)
        read, write = self.extra_headers()
        if read or write:
            client.meta.events.register("before-sign.s3", _HeaderAdder(read, write))
        return client

    def build_direct(self, session: Any, credentials: Any,
                     client: Callable[[], Any]) -> DirectS3 | None:
        """The plain route, or ``None`` (boto3 does everything).

        With a custom endpoint and path-style addressing, object URLs are built
        here and ``client`` is not called; otherwise it gives botocore's URLs.
        """
        opts, st = self.options, self.settings
        if not self.anonymous and credentials is None:
            return None  # boto3 reports the missing credentials
        path_base = None
        if opts.endpoint_url and opts.force_path_style:
            path_base = DirectS3.path_style_base(opts.endpoint_url)
            if path_base is None or not DirectS3.usable(opts.endpoint_url):
                return None  # an unusual endpoint or a proxy: boto3's to handle
        else:
            made = client()
            if not DirectS3.usable(made.meta.endpoint_url, made.meta.config.proxies):
                return None
        read, write = self.extra_headers()
        return DirectS3(client, credentials, region=self.region(session), path_base=path_base,
                        ca_bundle=session.get_config_variable("ca_bundle"),
                        max_connections=self.max_pool_connections,
                        connect_timeout=st.connect_timeout_s, read_timeout=self._read_timeout(),
                        read_headers=read, write_headers=write)

    # -- calls ------------------------------------------------------------------------

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the thread pool (no retries)."""
        return await in_thread_pool("frazil-s3", fn, *args)

    async def call(self, op: str, *, ambiguous: list[bool] | None = None,
                   post: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """Call client method ``op`` with retries; ``post(response)`` runs in the thread too.

        A retried attempt appends ``True`` to ``ambiguous`` (if given): the
        caller then knows an earlier attempt may have taken effect.
        """
        def attempt() -> Any:
            direct = self.direct()
            if direct is not None and direct.handles(op, kwargs):
                try:
                    resp = direct.request(op, kwargs)
                except FallBack as exc:
                    log.debug("S3 %s: plain route gave way to boto3 (%s)", op, exc)
                    resp = getattr(self.client(), op)(**kwargs)
            else:
                resp = getattr(self.client(), op)(**kwargs)
            return post(resp) if post is not None else resp

        return await call_with_retries("S3", op, lambda: self.run(attempt), self.settings,
                                       is_retryable, ambiguous=ambiguous)


class _Clients:
    """One configuration's plain route (built at once) and boto3 client (built when a call
    needs it: listing, batch deletes, multipart uploads, a fallback), sharing one botocore
    session and so one credentials object."""

    def __init__(self, owner: S3Client) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._client: Any = None
        self._session, credentials = owner.session()
        self.direct = owner.build_direct(self._session, credentials, self.client)

    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._owner.build_client(self._session)
        return self._client


class _HeaderAdder:
    """botocore ``before-sign`` handler: extra headers by HTTP method (reads vs writes)."""

    def __init__(self, read: dict[str, str], write: dict[str, str]) -> None:
        self.read, self.write = read, write

    def __call__(self, request: Any, **_: Any) -> None:
        extra = self.read if request.method in ("GET", "HEAD") else self.write
        for name, value in extra.items():
            if name in request.headers:
                del request.headers[name]
            request.headers[name] = value


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

    return RefreshableCredentials.create_from_metadata(fetch(), fetch, "frazil-get-credentials")
