"""GCS credential types and factories with icechunk's names and signatures.

The classes mirror icechunk's ``GcsCredentials`` / ``GcsStaticCredentials`` /
``GcsBearerCredential``: plain, picklable value objects whose ``repr`` never
shows a key or a token. How they become a ``google.auth`` credential is
:func:`frazil_gcs._auth.resolve_credentials`'s job.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any

from frazil.credentials import pickled_refresh_function
from frazil.display import text_forms
from frazil.errors import ErrorKind, InvalidInputError

__all__ = [
    "AnyGcsCredential",
    "AnyGcsStaticCredential",
    "GcsBearerCredential",
    "GcsCredentials",
    "GcsStaticCredentials",
    "gcs_anonymous_credentials",
    "gcs_credentials",
    "gcs_from_env_credentials",
    "gcs_refreshable_credentials",
    "gcs_static_credentials",
]


@text_forms("frazil.credentials.GcsBearerCredential", secrets=("bearer",))
@dataclass(frozen=True, slots=True)
class GcsBearerCredential:
    """A bearer (OAuth2 access) token and when it expires (icechunk's ``GcsBearerCredential``).

    Parameters
    ----------
    bearer
        The token sent as ``Authorization: Bearer <token>``.
    expires_after
        Expiry time (timezone-aware), or ``None`` for a token that never expires.
    """

    bearer: str = field(repr=False)
    _: KW_ONLY
    expires_after: datetime | None = None



class GcsStaticCredentials:
    """Credentials that do not change: a service account (file or key), ADC file, a token."""

    @text_forms("frazil.credentials.GcsStaticCredentials.ServiceAccount")
    @dataclass(frozen=True)
    class ServiceAccount:
        """A service account JSON key file at ``path``."""

        path: str

    @text_forms("frazil.credentials.GcsStaticCredentials.ServiceAccountKey", secrets=("key",))
    @dataclass(frozen=True)
    class ServiceAccountKey:
        """A serialized service account JSON key (kept out of ``repr``)."""

        key: str = field(repr=False)


    @text_forms("frazil.credentials.GcsStaticCredentials.ApplicationCredentials")
    @dataclass(frozen=True)
    class ApplicationCredentials:
        """An application default credentials JSON file at ``path``."""

        path: str

    @text_forms("frazil.credentials.GcsStaticCredentials.BearerToken", secrets=("bearer",))
    @dataclass(frozen=True)
    class BearerToken:
        """A fixed bearer token (kept out of ``repr``)."""

        bearer: str = field(repr=False)



AnyGcsStaticCredential = (GcsStaticCredentials.ServiceAccount
                          | GcsStaticCredentials.ServiceAccountKey
                          | GcsStaticCredentials.ApplicationCredentials
                          | GcsStaticCredentials.BearerToken)
_STATIC_TYPES = (GcsStaticCredentials.ServiceAccount, GcsStaticCredentials.ServiceAccountKey,
                 GcsStaticCredentials.ApplicationCredentials, GcsStaticCredentials.BearerToken)


class GcsCredentials:
    """How requests are authorized: anonymous, from the environment, static, refreshable."""

    @text_forms("frazil.credentials.GcsCredentials.Anonymous")
    @dataclass(frozen=True)
    class Anonymous:
        """Unsigned requests (public buckets, emulators)."""

    @text_forms("frazil.credentials.GcsCredentials.FromEnv")
    @dataclass(frozen=True)
    class FromEnv:
        """Whatever the environment provides (``GOOGLE_*`` variables, ADC, metadata server)."""

    @text_forms("frazil.credentials.GcsCredentials.Static")
    @dataclass(frozen=True)
    class Static:
        """One of the :class:`GcsStaticCredentials`."""

        credentials: AnyGcsStaticCredential

        def __post_init__(self) -> None:
            if not isinstance(self.credentials, _STATIC_TYPES):
                raise InvalidInputError("GcsCredentials.Static needs a GcsStaticCredentials "
                                        f"value, got {type(self.credentials).__name__}",
                                        ErrorKind.STORAGE_CONFIG)

    @text_forms("frazil.credentials.GcsCredentials.Refreshable", secrets=("pickled_function",))
    @dataclass(frozen=True)
    class Refreshable:
        """Bearer tokens from a pickled function, called again before each token expires.

        ``current`` is a token already fetched (``scatter_initial_credentials``).
        """

        pickled_function: bytes = field(repr=False)
        current: GcsBearerCredential | None = field(repr=False)  # required, as in icechunk


        def function(self) -> Callable[[], Any]:
            return pickle.loads(self.pickled_function)  # type: ignore[no-any-return]


AnyGcsCredential = (GcsCredentials.Anonymous | GcsCredentials.FromEnv | GcsCredentials.Static
                    | GcsCredentials.Refreshable)


def gcs_static_credentials(*, service_account_file: str | None = None,
                           service_account_key: str | None = None,
                           application_credentials: str | None = None,
                           bearer_token: str | None = None) -> AnyGcsStaticCredential:
    """Static credentials: the first given of the four arguments, in this order."""
    if service_account_file is not None:
        return GcsStaticCredentials.ServiceAccount(service_account_file)
    if service_account_key is not None:
        return GcsStaticCredentials.ServiceAccountKey(service_account_key)
    if application_credentials is not None:
        return GcsStaticCredentials.ApplicationCredentials(application_credentials)
    if bearer_token is not None:
        return GcsStaticCredentials.BearerToken(bearer_token)
    raise InvalidInputError("Conflicting arguments to gcs_static_credentials function",
                            ErrorKind.STORAGE_CONFIG)


def gcs_refreshable_credentials(get_credentials: Callable[[], Any],
                                scatter_initial_credentials: bool = False
                                ) -> GcsCredentials.Refreshable:
    """Bearer tokens from ``get_credentials()`` (returns a :class:`GcsBearerCredential`).

    The function must be picklable: it travels with the storage to other
    processes. ``scatter_initial_credentials`` calls it once now and ships the
    token with every copy until it expires.
    """
    pickled = pickled_refresh_function(get_credentials)
    current = get_credentials() if scatter_initial_credentials else None
    return GcsCredentials.Refreshable(pickled, current)


def gcs_anonymous_credentials() -> GcsCredentials.Anonymous:
    """Unsigned requests."""
    return GcsCredentials.Anonymous()


def gcs_from_env_credentials() -> GcsCredentials.FromEnv:
    """Credentials from the environment (see :class:`GcsCredentials.FromEnv`)."""
    return GcsCredentials.FromEnv()


def gcs_credentials(*, service_account_file: str | None = None,
                    service_account_key: str | None = None,
                    application_credentials: str | None = None,
                    bearer_token: str | None = None, from_env: bool | None = None,
                    anonymous: bool | None = None,
                    get_credentials: Callable[[], Any] | None = None,
                    scatter_initial_credentials: bool = False) -> AnyGcsCredential:
    """Pick the credentials from the arguments, as icechunk's ``gcs_credentials`` does.

    ``anonymous`` wins; static arguments give :class:`GcsCredentials.Static`;
    ``get_credentials`` gives :class:`GcsCredentials.Refreshable`; with nothing
    given, credentials come from the environment. (icechunk 2.3 answers
    ``FromEnv`` to a lone ``get_credentials`` unless ``from_env=False``; frazil
    honours the function.)
    """
    if anonymous:
        return gcs_anonymous_credentials()
    static = any(v is not None for v in (service_account_file, service_account_key,
                                         application_credentials, bearer_token))
    if static and not from_env:
        return GcsCredentials.Static(gcs_static_credentials(
            service_account_file=service_account_file, service_account_key=service_account_key,
            application_credentials=application_credentials, bearer_token=bearer_token))
    if get_credentials is not None and not from_env and not static:
        return gcs_refreshable_credentials(get_credentials, scatter_initial_credentials)
    if (from_env is None or from_env) and not static and get_credentials is None:
        return gcs_from_env_credentials()
    raise InvalidInputError("Conflicting arguments to gcs_credentials function",
                            ErrorKind.STORAGE_CONFIG)


def as_gcs_credentials(value: Any) -> AnyGcsCredential:
    """Normalize credentials given by users: frazil's, icechunk's (by duck typing), or None."""
    if value is None:
        return gcs_from_env_credentials()
    if isinstance(value, (GcsCredentials.Anonymous, GcsCredentials.FromEnv,
                          GcsCredentials.Static, GcsCredentials.Refreshable)):
        return value
    if isinstance(value, _STATIC_TYPES):
        return GcsCredentials.Static(value)
    if isinstance(value, GcsBearerCredential):
        return GcsCredentials.Static(GcsStaticCredentials.BearerToken(value.bearer))
    if callable(value):
        return gcs_refreshable_credentials(value)
    raise InvalidInputError(f"unsupported GCS credentials: {type(value).__name__}; use "
                            "frazil_gcs.gcs_credentials(...)", ErrorKind.STORAGE_CONFIG)
