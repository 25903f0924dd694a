"""Options of the HTTP client: transport options, headers, retries and timeouts.

icechunk's ``http_storage(base_url, opts, headers)`` takes ``opts`` as the
``object_store`` crate's ``ClientConfigKey`` names in snake case. frazil honours
the ones that mean something for a ``requests`` session (``allow_http``,
``allow_invalid_certificates``, ``connect_timeout``, ``timeout``,
``user_agent``, ``proxy_url``, ``pool_max_idle_per_host``) and, like icechunk,
ignores the others. Header values are secrets (bearer tokens): they never
appear in a ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frazil.display import Fields, Mode, ReprMixin
from frazil.errors import ErrorKind, InvalidInputError
from frazil.virtual import ObjectStoreConfig

__all__ = ["HttpSettings", "HttpStoreOptions", "check_headers", "http_store", "parse_duration"]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|secs|seconds?|m|min|mins|"
                       r"minutes?|h|hours?)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "msec": 0.001, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0,
           "seconds": 1.0, "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0,
           "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0}


def parse_duration(value: str | float, name: str) -> float:
    """Seconds from ``"5s"``, ``"250ms"``, ``"2 minutes"`` or a bare number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise InvalidInputError(f"invalid duration for HTTP option {name!r}: {value!r}",
                                    ErrorKind.STORAGE_CONFIG)
        seconds = float(match.group(1)) * _UNIT_S[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise InvalidInputError(f"HTTP option {name!r} must be positive", ErrorKind.STORAGE_CONFIG)
    return seconds


def _truthy(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidInputError(f"HTTP option {name!r} must be true or false, not {value!r}",
                            ErrorKind.STORAGE_CONFIG)


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of ``headers`` after checking names are HTTP tokens and values one line."""
    out = dict(headers or {})
    for name, value in out.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise InvalidInputError(f"invalid HTTP header name {name!r}", ErrorKind.STORAGE_CONFIG)
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise InvalidInputError(f"invalid value for HTTP header {name!r}",
                                    ErrorKind.STORAGE_CONFIG)
    return out


@dataclass(frozen=True)
class HttpSettings:
    """Retries and timeouts of the HTTP client (frazil extras, icechunk's defaults).

    Attributes
    ----------
    max_tries
        Attempts per request, the first included.
    initial_backoff_s, max_backoff_s
        Exponential backoff between attempts, with jitter: the n-th wait is
        drawn from ``[d/2, d]`` with ``d = min(max_backoff_s, initial_backoff_s * 2**n)``.
    connect_timeout_s, read_timeout_s
        Socket timeouts of one attempt (a stalled response fails after
        ``read_timeout_s`` without data and is retried).
    operation_timeout_s
        Bound on one logical operation, all attempts and waits included (``None``: none).
    """

    max_tries: int = 10
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 180.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    operation_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise InvalidInputError("max_tries must be >= 1", ErrorKind.STORAGE_CONFIG)
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise InvalidInputError("backoffs must be >= 0", ErrorKind.STORAGE_CONFIG)
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise InvalidInputError("timeouts must be > 0", ErrorKind.STORAGE_CONFIG)

    @classmethod
    def _pop_from(cls, kwargs: dict[str, Any]) -> HttpSettings:
        """Settings from the matching keywords of ``kwargs`` (removed from it)."""
        names = cls.__dataclass_fields__
        return cls(**{k: kwargs.pop(k) for k in list(kwargs) if k in names})


@dataclass(frozen=True, repr=False)
class HttpStoreOptions(ReprMixin):
    """Transport options and headers of an HTTP server (icechunk's ``ObjectStoreConfig.Http``).

    Persisted in a virtual chunk container as ``{"http": {**opts, "headers": {...}}}``,
    the form icechunk writes. ``repr`` shows header names only.
    """

    opts: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opts", {str(k): str(v) for k, v in (self.opts or {}).items()})
        object.__setattr__(self, "headers", check_headers(self.headers))

    # printed as the ObjectStoreConfig.Http it persists as (header values hidden)
    def _repr_fields(self, mode: Mode) -> Fields:
        return ObjectStoreConfig._from_dict(self._to_dict())._repr_fields(mode)

    def _render(self, mode: Mode) -> str:
        return ObjectStoreConfig._from_dict(self._to_dict())._render(mode)

    def _to_dict(self) -> dict[str, Any]:
        inner: dict[str, Any] = dict(self.opts)
        if self.headers:
            inner["headers"] = dict(self.headers)
        return {"http": inner}

    @classmethod
    def _from_dict(cls, data: Any) -> HttpStoreOptions:
        """From ``{"http": {...}}``, the inner map, ``None``, or an options object."""
        if isinstance(data, HttpStoreOptions):
            return data
        if data is None or data == "http":
            return cls()
        if isinstance(data, dict) and set(data) == {"http"}:
            data = data["http"]
        if not isinstance(data, dict):
            raise InvalidInputError(f"not an HTTP store config: {data!r}", ErrorKind.STORAGE_CONFIG)
        data = dict(data)
        headers = data.pop("headers", None) or {}
        return cls({k: str(v) for k, v in data.items()}, dict(headers))

    # -- the options a requests session honours -------------------------------------

    def allow_http(self, url: str) -> bool:
        """Whether plain ``http://`` may be used (on by default for ``http://`` URLs)."""
        given = self.opts.get("allow_http")
        return url.lower().startswith("http:") if given is None else _truthy(given, "allow_http")

    @property
    def verify(self) -> bool:
        value = self.opts.get("allow_invalid_certificates")
        return True if value is None else not _truthy(value, "allow_invalid_certificates")

    def timeouts(self, settings: HttpSettings) -> tuple[float, float]:
        """``(connect, read)`` seconds: ``connect_timeout`` / ``timeout`` options win."""
        connect = self.opts.get("connect_timeout")
        read = self.opts.get("timeout")
        return (settings.connect_timeout_s if connect is None
                else parse_duration(connect, "connect_timeout"),
                settings.read_timeout_s if read is None else parse_duration(read, "timeout"))

    @property
    def user_agent(self) -> str | None:
        return self.opts.get("user_agent")

    @property
    def proxy_url(self) -> str | None:
        return self.opts.get("proxy_url")


def http_store(opts: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> HttpStoreOptions:
    """Store options of an ``http(s)://`` virtual chunk container (icechunk's ``http_store``).

    Parameters
    ----------
    opts
        Transport options (``object_store`` ``ClientConfigKey`` names, snake case).
    headers
        Static headers sent with every request, e.g. ``{"authorization": "Bearer ..."}``.
    """
    return HttpStoreOptions(dict(opts or {}), dict(headers or {}))
