"""Options and settings of frazil-azure: icechunk's ``config`` keys and frazil's retry knobs.

``config`` takes the keys icechunk passes to object_store's Azure builder
(``endpoint``, ``allow_http``, ``use_emulator``, ``timeout``...), with their
aliases (``azure_storage_endpoint``...); :class:`AzureOptions` canonicalises
them once, so a typo is refused when the storage is built, not at the first
request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError

__all__ = ["EMULATOR_ACCOUNT", "EMULATOR_KEY", "AzureOptions", "AzureSettings", "azure_store",
           "parse_duration"]

#: Azurite's well-known development account and its published key.
EMULATOR_ACCOUNT = "devstoreaccount1"
EMULATOR_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
                "KBHBeksoGMGw==")

# canonical key -> accepted spellings (object_store's AzureConfigKey / ClientConfigKey)
_ALIASES: dict[str, tuple[str, ...]] = {
    "account_name": ("azure_storage_account_name", "account_name"),
    "access_key": ("azure_storage_account_key", "azure_storage_access_key",
                   "azure_storage_master_key", "master_key", "account_key", "access_key"),
    "sas_key": ("azure_storage_sas_key", "azure_storage_sas_token", "sas_key", "sas_token"),
    "token": ("azure_storage_token", "bearer_token", "token"),
    "client_id": ("azure_storage_client_id", "azure_client_id", "client_id"),
    "client_secret": ("azure_storage_client_secret", "azure_client_secret", "client_secret"),
    "tenant_id": ("azure_storage_tenant_id", "azure_storage_authority_id", "azure_tenant_id",
                  "azure_authority_id", "tenant_id", "authority_id"),
    "authority_host": ("azure_storage_authority_host", "azure_authority_host",
                       "authority_host"),
    "use_emulator": ("azure_storage_use_emulator", "use_emulator"),
    "endpoint": ("azure_storage_endpoint", "azure_endpoint", "endpoint"),
    "msi_endpoint": ("azure_msi_endpoint", "azure_identity_endpoint", "identity_endpoint",
                     "msi_endpoint"),
    "object_id": ("azure_object_id", "object_id"),
    "msi_resource_id": ("azure_msi_resource_id", "msi_resource_id"),
    "federated_token_file": ("azure_federated_token_file", "federated_token_file"),
    "use_azure_cli": ("azure_use_azure_cli", "use_azure_cli"),
    "skip_signature": ("azure_skip_signature", "skip_signature"),
    "container_name": ("azure_container_name", "container_name"),
    "disable_tagging": ("azure_disable_tagging", "disable_tagging"),
    "use_fabric_endpoint": ("azure_use_fabric_endpoint", "use_fabric_endpoint"),
    # client options (object_store also accepts them with an ``azure_`` prefix)
    "allow_http": ("allow_http",),
    "allow_invalid_certificates": ("allow_invalid_certificates",),
    "connect_timeout": ("connect_timeout",),
    "timeout": ("timeout",),
    "user_agent": ("user_agent",),
    "proxy_url": ("proxy_url",),
    "http1_only": ("http1_only",), "http2_only": ("http2_only",),
    "pool_idle_timeout": ("pool_idle_timeout",),
    "pool_max_idle_per_host": ("pool_max_idle_per_host",),
    "default_content_type": ("default_content_type",),
}
_CANONICAL = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
_CLIENT_KEYS = {"allow_http", "allow_invalid_certificates", "connect_timeout", "timeout",
                "user_agent", "proxy_url", "http1_only", "http2_only", "pool_idle_timeout",
                "pool_max_idle_per_host", "default_content_type"}
#: keys whose values are secrets: never shown
SECRET_KEYS = frozenset({"access_key", "sas_key", "token", "client_secret"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|secs|second|seconds|m|min|mins|"
                       r"minute|minutes|h|hr|hour|hours)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "msec": 0.001, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
           "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600,
           "hour": 3600, "hours": 3600}


def canonical_key(name: str) -> str:
    """The canonical name of a ``config`` key; :class:`InvalidInputError` if unknown."""
    low = str(name).strip().lower()
    key = _CANONICAL.get(low)
    if key is None and low.startswith("azure_") and low[6:] in _CLIENT_KEYS:
        key = low[6:]
    if key is None:
        raise InvalidInputError(f"unknown Azure config key {name!r}; known keys: "
                                f"{sorted(_ALIASES)}", ErrorKind.STORAGE_CONFIG)
    return key


def parse_bool(value: Any) -> bool:
    """object_store's truthy strings: ``true``/``1``/``yes``/``on`` (any case)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on", "y")


def parse_duration(value: Any) -> float:
    """Seconds from ``30``, ``"30s"``, ``"500ms"``, ``"2 minutes"``..."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if m is None:
        raise InvalidInputError(f"invalid duration {value!r} (e.g. '30s', '500ms')",
                                ErrorKind.STORAGE_CONFIG)
    return float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()]


@dataclass(frozen=True)
class AzureOptions:
    """An account and its ``config`` (icechunk's ``azure_store``), canonicalised.

    ``_to_dict`` gives the container store exactly as icechunk persists it:
    ``{"azure": {"account": ..., <config as given>}}``.
    """

    account: str
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account:
            raise InvalidInputError("an Azure storage account name is required",
                                    ErrorKind.STORAGE_CONFIG)
        raw = {str(k): str(v) if not isinstance(v, bool) else str(v).lower()
               for k, v in dict(self.config or {}).items()}
        object.__setattr__(self, "config", raw)
        canon = {canonical_key(k): v for k, v in raw.items()}
        object.__setattr__(self, "_canon", canon)
        if parse_bool(canon.get("use_fabric_endpoint", "false")):
            raise InvalidInputError("use_fabric_endpoint (OneLake) is not supported by "
                                    "frazil-azure", ErrorKind.STORAGE_CONFIG)
        endpoint = self.endpoint
        if endpoint.lower().startswith("http://") and not self.allow_http:
            raise InvalidInputError(f"endpoint {endpoint!r} uses plain http; set "
                                    "config={'allow_http': 'true'} to allow it",
                                    ErrorKind.STORAGE_CONFIG)
        for key in ("timeout", "connect_timeout"):
            if key in canon:
                parse_duration(canon[key])

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of canonical ``key`` (see :func:`canonical_key`)."""
        return self._canon.get(key, default)  # type: ignore[attr-defined, no-any-return]

    @property
    def use_emulator(self) -> bool:
        return parse_bool(self.get("use_emulator", "false"))

    @property
    def allow_http(self) -> bool:
        return self.use_emulator or parse_bool(self.get("allow_http", "false"))

    @property
    def endpoint(self) -> str:
        """The blob service URL requests go to (``.../{container}/{blob}`` below it)."""
        given = self.get("endpoint")
        if given:
            return given.rstrip("/")
        if self.use_emulator:
            import os

            base = os.environ.get("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:10000")
            return f"{base.rstrip('/')}/{self.account}"
        return f"https://{self.account}.blob.core.windows.net"

    def __repr__(self) -> str:
        shown = {k: ("***" if canonical_key(k) in SECRET_KEYS else v)
                 for k, v in self.config.items()}
        return f"AzureOptions(account={self.account!r}, config={shown!r})"

    def _to_dict(self) -> dict[str, Any]:
        return {"azure": {"account": self.account, **dict(self.config)}}

    @classmethod
    def _from_dict(cls, data: Any) -> AzureOptions | None:
        """Options from a persisted container store, ``None`` if it is not an Azure one."""
        if not isinstance(data, dict) or len(data) != 1 or "azure" not in data:
            return None
        conf = dict(data["azure"] or {})
        account = conf.pop("account", None)
        if not account:
            raise InvalidInputError("the Azure virtual chunk container's store has no "
                                    "'account'", ErrorKind.STORAGE_CONFIG)
        return cls(str(account), conf)


def azure_store(*, account: str, config: dict[str, str] | None = None) -> AzureOptions:
    """Store of an ``az://`` virtual chunk container (icechunk's ``azure_store``)."""
    return AzureOptions(account, dict(config or {}))


@dataclass(frozen=True)
class AzureSettings:
    """Retries, timeouts and upload sizes of the client.

    Attributes
    ----------
    max_tries
        Attempts per request, the first included (icechunk's default 10).
    initial_backoff_s, max_backoff_s
        Exponential backoff between attempts, with jitter: the n-th wait is
        drawn from ``[d/2, d]`` with ``d = min(max_backoff_s, initial_backoff_s * 2**n)``.
    connect_timeout_s, read_timeout_s
        Socket timeouts of one attempt (``config`` keys ``connect_timeout`` and
        ``timeout`` override them).
    operation_timeout_s
        Bound on one logical operation, all attempts and waits included (``None``: none).
    attempt_timeout_s
        Bound on one attempt, then retried (``None``: none; icechunk's
        ``operation_attempt_timeout_ms``).
    max_single_put_size
        Larger objects are uploaded as blocks of ``block_size`` bytes, then committed.
    direct_requests
        Send single-blob GET, HEAD and PUT as frazil's own signed requests
        (shared key, SAS, anonymous) instead of through azure-storage-blob's
        pipeline, which costs several milliseconds of Python per request.
    """

    max_tries: int = 10
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 180.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    operation_timeout_s: float | None = None
    attempt_timeout_s: float | None = None
    max_single_put_size: int = 64 * 1024 * 1024
    block_size: int = 8 * 1024 * 1024
    direct_requests: bool = True

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise InvalidInputError("max_tries must be >= 1", ErrorKind.STORAGE_CONFIG)
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise InvalidInputError("backoffs must be >= 0", ErrorKind.STORAGE_CONFIG)
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise InvalidInputError("timeouts must be > 0", ErrorKind.STORAGE_CONFIG)
        if self.block_size < 1 or self.max_single_put_size < 1:
            raise InvalidInputError("upload sizes must be >= 1", ErrorKind.STORAGE_CONFIG)
