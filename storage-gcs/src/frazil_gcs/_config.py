"""Options and settings of GCS storage: endpoint, ``config`` keys, retries, uploads.

``config`` takes the keys icechunk passes to its object store (the
``GoogleConfigKey`` / client option names): ``allow_http``, ``timeout``,
``connect_timeout``, ``service_account`` (path), ``service_account_key``,
``application_credentials``, ``skip_signature``, ... An emulator is reached
the way icechunk reaches one: a service account key whose JSON carries
``gcs_base_url`` (and ``disable_oauth: true``), or ``STORAGE_EMULATOR_HOST``
with credentials from the environment. frazil also takes ``config["endpoint"]``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError
from frazil.storage import storage_settings_overrides
from frazil.virtual import ObjectStoreConfig

__all__ = ["GcsOptions", "GcsSettings", "gcs_store", "parse_config",
           "settings_from_storage_settings"]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
RESUMABLE_THRESHOLD = 8 * 1024 * 1024  # google-cloud-storage's multipart limit
_CHUNK_QUANTUM = 256 * 1024

# config keys (with object_store's aliases) -> frazil's name
_ALIASES = {
    "google_service_account": "service_account", "service_account": "service_account",
    "google_service_account_path": "service_account", "service_account_path": "service_account",
    "google_service_account_key": "service_account_key",
    "service_account_key": "service_account_key",
    "google_application_credentials": "application_credentials",
    "application_credentials": "application_credentials",
    "google_bucket": "bucket", "google_bucket_name": "bucket", "bucket": "bucket",
    "bucket_name": "bucket",
    "google_skip_signature": "skip_signature", "skip_signature": "skip_signature",
    "allow_http": "allow_http", "timeout": "timeout", "connect_timeout": "connect_timeout",
    "allow_invalid_certificates": "allow_invalid_certificates", "user_agent": "user_agent",
    "proxy_url": "proxy_url", "pool_idle_timeout": "ignored", "pool_max_idle_per_host": "ignored",
    "http1_only": "ignored", "http2_only": "ignored", "default_content_type": "ignored",
    "endpoint": "endpoint", "google_project_id": "project", "project_id": "project",
}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|sec|secs|m|min|mins|h)?\s*$")


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _seconds(key: str, value: Any) -> float:
    m = _DURATION.match(str(value))
    if not m:
        raise InvalidInputError(f"GCS config {key}={value!r} is not a duration (e.g. '30s')",
                                ErrorKind.STORAGE_CONFIG)
    scale = {"ms": 0.001, "m": 60.0, "min": 60.0, "mins": 60.0, "h": 3600.0}.get(m[2] or "", 1.0)
    return float(m[1]) * scale


def parse_config(config: dict[str, str] | None) -> dict[str, Any]:
    """``config`` keys under frazil's names (durations in seconds, booleans as ``bool``).

    Raises
    ------
    InvalidInputError
        For unknown keys or malformed values.
    """
    out: dict[str, Any] = {}
    for key, value in (config or {}).items():
        name = _ALIASES.get(str(key).lower())
        if name is None:
            raise InvalidInputError(f"unknown GCS config key {key!r}", ErrorKind.STORAGE_CONFIG)
        if name in ("allow_http", "skip_signature", "allow_invalid_certificates"):
            out[name] = _truthy(value)
        elif name in ("timeout", "connect_timeout"):
            out[name] = _seconds(key, value)
        elif name != "ignored":
            out[name] = str(value)
    return out


@dataclass(frozen=True)
class GcsOptions:
    """Where the GCS JSON API is and how to reach it.

    Attributes
    ----------
    endpoint_url
        Base URL of the API (``None``: Google's, or ``STORAGE_EMULATOR_HOST``).
    allow_http
        Whether a plain ``http://`` endpoint is allowed (emulators).
    project
        Project sent with requests that need one (bucket creation only).
    verify_tls
        ``False`` accepts invalid certificates (``allow_invalid_certificates``).
    proxy_url, user_agent
        Optional HTTP proxy and user agent.
    """

    endpoint_url: str | None = None
    allow_http: bool = False
    project: str | None = None
    verify_tls: bool = True
    proxy_url: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class GcsSettings:
    """Retries, timeouts and uploads of a GCS storage.

    Attributes
    ----------
    max_tries
        Attempts per request, the first included.
    initial_backoff_s, max_backoff_s
        Exponential backoff with jitter between attempts.
    connect_timeout_s, read_timeout_s
        Socket timeouts of one attempt.
    operation_timeout_s
        Bound on one logical operation, all attempts included (``None``: none).
    attempt_timeout_s
        Bound on one attempt, then retried (``None``: none; icechunk's
        ``operation_attempt_timeout_ms``).
    resumable_chunk_size
        Objects over 8 MiB are sent as resumable uploads in chunks of this
        many bytes (a multiple of 256 KiB).
    list_page_size
        Objects per listing page.
    storage_class
        Storage class of written objects (e.g. ``"NEARLINE"``), or ``None``.
    """

    max_tries: int = 10
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 60.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    operation_timeout_s: float | None = None
    attempt_timeout_s: float | None = None
    resumable_chunk_size: int = 16 * 1024 * 1024
    list_page_size: int = 1000
    storage_class: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise InvalidInputError("max_tries must be >= 1", ErrorKind.STORAGE_CONFIG)
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise InvalidInputError("backoffs must be >= 0", ErrorKind.STORAGE_CONFIG)
        if self.resumable_chunk_size < _CHUNK_QUANTUM or \
                self.resumable_chunk_size % _CHUNK_QUANTUM:
            raise InvalidInputError("resumable_chunk_size must be a positive multiple of "
                                    "256 KiB", ErrorKind.STORAGE_CONFIG)
        if not 1 <= self.list_page_size <= 1000:
            raise InvalidInputError("list_page_size must be in [1, 1000]",
                                    ErrorKind.STORAGE_CONFIG)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def settings_from_storage_settings(storage: Any, base: GcsSettings | None = None) -> GcsSettings:
    """``base`` with the retries, timeouts and storage class of icechunk's ``StorageSettings``.

    ``storage`` is icechunk's ``StorageSettings`` object or its persisted form
    (``RepositoryConfig.storage`` as a dict): ``retries.max_tries``,
    ``retries.initial_backoff_ms``, ``retries.max_backoff_ms``,
    ``timeouts.connect_timeout_ms``, ``timeouts.read_timeout_ms``,
    ``timeouts.operation_timeout_ms``, ``storage_class``. Unset values keep ``base``'s.
    """
    base = base or GcsSettings()
    changes = storage_settings_overrides(storage, GcsSettings.__dataclass_fields__)
    storage_class = _get(storage, "storage_class")
    if storage_class:
        changes["storage_class"] = str(storage_class)
    return dataclasses.replace(base, **changes)


def gcs_store(opts: dict[str, str] | None = None) -> ObjectStoreConfig:
    """Store options of a ``gs://`` / ``gcs://`` virtual chunk container (icechunk's ``gcs_store``).

    Persisted as icechunk persists it: ``{"gcs": opts}``.
    """
    parse_config(opts)  # refuse unknown keys now rather than at read time
    return ObjectStoreConfig("gcs", {str(k): str(v) for k, v in (opts or {}).items()})
