"""From frazil's GCS credential values to ``google.auth`` credentials and an endpoint.

A service account key may name an emulator (``gcs_base_url``) and switch
authorization off (``disable_oauth``), as icechunk's object store accepts;
``STORAGE_EMULATOR_HOST`` does the same for credentials from the environment.
Nothing here logs or formats a key or a token.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError, StorageError

from frazil_gcs._credentials import AnyGcsCredential, GcsCredentials, GcsStaticCredentials

__all__ = ["SCOPES", "emulator_endpoint", "key_endpoint", "resolve_credentials"]

SCOPES = ("https://www.googleapis.com/auth/devstorage.full_control",)


def _key_info(key: str) -> dict[str, Any]:
    try:
        info = json.loads(key)
    except (TypeError, ValueError):
        raise InvalidInputError("the GCS service account key is not valid JSON",
                                ErrorKind.STORAGE_CONFIG) from None
    if not isinstance(info, dict):
        raise InvalidInputError("the GCS service account key is not a JSON object",
                                ErrorKind.STORAGE_CONFIG)
    return info


def _read_file(path: str, what: str) -> str:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise StorageError(f"cannot read the GCS {what} file {path!r}: {exc.strerror}",
                           ErrorKind.STORAGE_CONFIG) from None


def key_endpoint(credentials: AnyGcsCredential) -> str | None:
    """The ``gcs_base_url`` of a service account key, if the credentials carry one."""
    if isinstance(credentials, GcsCredentials.Static) and isinstance(
            credentials.credentials, GcsStaticCredentials.ServiceAccountKey):
        url = _key_info(credentials.credentials.key).get("gcs_base_url")
        return str(url).rstrip("/") if url else None
    return None


def emulator_endpoint() -> str | None:
    """``STORAGE_EMULATOR_HOST`` as a URL (``http://`` added when it has no scheme)."""
    host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip()
    if not host:
        return None
    return (host if "://" in host else f"http://{host}").rstrip("/")


class _RefreshingCredentials:
    """``google.auth`` credentials whose token comes from the user's function."""

    def __new__(cls, function: Any, current: Any) -> Any:
        from google.auth import credentials as ga

        class Refreshing(ga.Credentials):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self._lock = threading.Lock()
                if current is not None:
                    self._take(current)

            def _take(self, got: Any) -> None:
                bearer = getattr(got, "bearer", None)
                if not isinstance(bearer, str) or not bearer:
                    raise StorageError("get_credentials must return a GcsBearerCredential "
                                       f"(got {type(got).__name__})", ErrorKind.STORAGE_CONFIG)
                expires = getattr(got, "expires_after", None)
                if expires is not None and expires.tzinfo is not None:
                    expires = expires.astimezone(UTC).replace(tzinfo=None)
                self.token, self.expiry = bearer, expires

            def refresh(self, request: Any) -> None:
                with self._lock:  # many threads may find the token stale at once
                    if not self.valid:
                        self._take(function())

        return Refreshing()


def _service_account(info: dict[str, Any]) -> Any:
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (ValueError, KeyError) as exc:
        # the message names missing fields, never their values
        raise StorageError(f"invalid GCS service account key: {type(exc).__name__}: "
                           f"{str(exc)[:120]}", ErrorKind.STORAGE_CONFIG) from None


def _from_key_text(text: str) -> Any:
    from google.auth.credentials import AnonymousCredentials

    info = _key_info(text)
    if info.get("disable_oauth") in (True, "true", "True", 1):
        return AnonymousCredentials()
    return _service_account(info)


def resolve_credentials(credentials: AnyGcsCredential) -> Any:
    """A ``google.auth`` credentials object for ``credentials``.

    Raises
    ------
    StorageError
        Kind ``storage-config`` when no credentials can be found or loaded.
    """
    from google.auth.credentials import AnonymousCredentials

    if isinstance(credentials, GcsCredentials.Anonymous):
        return AnonymousCredentials()
    if isinstance(credentials, GcsCredentials.Refreshable):
        return _RefreshingCredentials(credentials.function(), credentials.current)
    if isinstance(credentials, GcsCredentials.Static):
        static = credentials.credentials
        if isinstance(static, GcsStaticCredentials.ServiceAccountKey):
            return _from_key_text(static.key)
        if isinstance(static, GcsStaticCredentials.ServiceAccount):
            return _from_key_text(_read_file(static.path, "service account"))
        if isinstance(static, GcsStaticCredentials.BearerToken):
            from google.oauth2.credentials import Credentials

            return Credentials(token=static.bearer)
        return _application_credentials(static.path)
    return _from_env()


def _application_credentials(path: str) -> Any:
    import google.auth
    from google.auth import exceptions as gae

    _read_file(path, "application credentials")  # a clear error for a missing file
    try:
        creds, _ = google.auth.load_credentials_from_file(path, scopes=SCOPES)
    except gae.DefaultCredentialsError as exc:
        raise StorageError(f"cannot load GCS application credentials from {path!r}: "
                           f"{str(exc)[:160]}", ErrorKind.STORAGE_CONFIG) from None
    return creds


def _from_env() -> Any:
    """Environment credentials: the emulator, ``GOOGLE_SERVICE_ACCOUNT*`` variables, ADC."""
    from google.auth.credentials import AnonymousCredentials

    if emulator_endpoint() is not None:
        return AnonymousCredentials()
    path = os.environ.get("GOOGLE_SERVICE_ACCOUNT") or \
        os.environ.get("GOOGLE_SERVICE_ACCOUNT_PATH")
    if path:
        return _from_key_text(_read_file(path, "service account"))
    key = os.environ.get("GOOGLE_SERVICE_ACCOUNT_KEY")
    if key:
        return _from_key_text(key)
    import google.auth
    from google.auth import exceptions as gae

    try:
        creds, _ = google.auth.default(scopes=SCOPES)
    except gae.DefaultCredentialsError:
        raise StorageError("no GCS credentials found in the environment: set "
                           "GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT, pass "
                           "credentials, or anonymous=True", ErrorKind.STORAGE_CONFIG) from None
    return creds
