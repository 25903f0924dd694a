"""Azure credentials with icechunk's names: static, refreshable, from the environment, anonymous.

Credential objects never show secrets: their ``repr`` names the kind of
credential and, for keys and tokens, at most the last four characters.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frazil.credentials import pickled_refresh_function
from frazil.display import text_forms
from frazil.errors import ErrorKind, InvalidInputError

__all__ = [
    "AnyAzureCredential",
    "AnyAzureStaticCredential",
    "AzureCredentials",
    "AzureRefreshableCredential",
    "AzureStaticCredentials",
    "azure_anonymous_credentials",
    "azure_credentials",
    "azure_from_env_credentials",
    "azure_refreshable_credentials",
    "azure_static_credentials",
    "coerce_credentials",
    "redact",
]


def redact(value: str | None) -> str:
    """``***`` plus the last four characters of a long secret, ``***`` otherwise."""
    if not value:
        return "''"
    return "***" + value[-4:] if len(value) > 16 else "***"


@dataclass(frozen=True, repr=False)
class _Secret:
    """One secret of a given kind (``access_key``, ``sas_token`` or ``bearer_token``)."""

    value: str = field(repr=False)
    kind: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise InvalidInputError(f"Azure {self.kind.replace('_', ' ')} must be a non-empty "
                                    "string", ErrorKind.STORAGE_CONFIG)

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({redact(self.value)})"


class AzureStaticCredentials:
    """Credentials without expiry (icechunk's ``AzureStaticCredentials``)."""

    @text_forms("frazil.credentials.AzureStaticCredentials.AccessKey", secrets=("value",))
    @dataclass(frozen=True, repr=False)
    class AccessKey(_Secret):
        """The storage account's shared key."""

        kind: str = field(default="access_key", init=False)

    @text_forms("frazil.credentials.AzureStaticCredentials.SasToken", secrets=("value",))
    @dataclass(frozen=True, repr=False)
    class SasToken(_Secret):
        """A shared access signature (the query string, with or without ``?``)."""

        kind: str = field(default="sas_token", init=False)

    @text_forms("frazil.credentials.AzureStaticCredentials.BearerToken", secrets=("value",))
    @dataclass(frozen=True, repr=False)
    class BearerToken(_Secret):
        """An OAuth bearer token (Entra ID)."""

        kind: str = field(default="bearer_token", init=False)


AnyAzureStaticCredential = (AzureStaticCredentials.AccessKey | AzureStaticCredentials.SasToken
                            | AzureStaticCredentials.BearerToken)


class AzureRefreshableCredential:
    """What a ``get_credentials`` callback returns: a secret and when it expires.

    ``expires_after`` (timezone-aware; naive means UTC) makes frazil call the
    callback again shortly before that time; ``None`` keeps it for good.
    """

    @text_forms("frazil.credentials.AzureRefreshableCredential.AccessKey", secrets=("key",))
    @dataclass(frozen=True, repr=False)
    class AccessKey:
        key: str
        expires_after: datetime | None  # required, as in icechunk (None: never expires)


    @text_forms("frazil.credentials.AzureRefreshableCredential.SasToken", secrets=("token",))
    @dataclass(frozen=True, repr=False)
    class SasToken:
        token: str
        expires_after: datetime | None  # required, as in icechunk (None: never expires)


    @text_forms("frazil.credentials.AzureRefreshableCredential.BearerToken", secrets=("bearer",))
    @dataclass(frozen=True, repr=False)
    class BearerToken:
        bearer: str
        expires_after: datetime | None  # required, as in icechunk (None: never expires)



class AzureCredentials:
    """How to authenticate (icechunk's ``AzureCredentials``): one of the nested classes."""

    @text_forms("frazil.credentials.AzureCredentials.Anonymous")
    @dataclass(frozen=True)
    class Anonymous:
        """Unsigned requests (public containers)."""

    @text_forms("frazil.credentials.AzureCredentials.FromEnv")
    @dataclass(frozen=True)
    class FromEnv:
        """``AZURE_STORAGE_*`` variables, else azure-identity's default chain if installed."""

    @text_forms("frazil.credentials.AzureCredentials.Static")
    @dataclass(frozen=True)
    class Static:
        """One fixed credential."""

        credentials: AnyAzureStaticCredential

    @text_forms("frazil.credentials.AzureCredentials.Refreshable", secrets=("pickled_function",))
    @dataclass(frozen=True, repr=False)
    class Refreshable:
        """Credentials fetched by a picklable callback, again before they expire.

        ``pickled_function`` is ``pickle.dumps(get_credentials)`` (as in
        icechunk); ``current`` is an already fetched credential, if any.
        """

        pickled_function: bytes
        current: Any  # an already fetched credential, or None (required, as in icechunk)

        def __post_init__(self) -> None:
            if not isinstance(self.pickled_function, bytes):
                raise InvalidInputError("AzureCredentials.Refreshable needs the pickled "
                                        "get_credentials function", ErrorKind.STORAGE_CONFIG)


        def function(self) -> Callable[[], Any]:
            """The ``get_credentials`` callback."""
            return pickle.loads(self.pickled_function)  # type: ignore[no-any-return]


AnyAzureCredential = (AzureCredentials.FromEnv | AzureCredentials.Anonymous
                      | AzureCredentials.Static | AzureCredentials.Refreshable)


def azure_static_credentials(*, access_key: str | None = None, sas_token: str | None = None,
                             bearer_token: str | None = None) -> AnyAzureStaticCredential:
    """Exactly one of an access key, a SAS token or a bearer token."""
    if [access_key, sas_token, bearer_token].count(None) != 2:
        raise InvalidInputError("give exactly one of access_key, sas_token, bearer_token to "
                                "azure_static_credentials", ErrorKind.STORAGE_CONFIG)
    if access_key is not None:
        return AzureStaticCredentials.AccessKey(access_key)
    if sas_token is not None:
        return AzureStaticCredentials.SasToken(sas_token)
    return AzureStaticCredentials.BearerToken(bearer_token or "")


def azure_refreshable_credentials(get_credentials: Callable[[], Any],
                                  scatter_initial_credentials: bool = False,
                                  ) -> AzureCredentials.Refreshable:
    """Credentials from ``get_credentials()`` (picklable), refreshed before ``expires_after``.

    It returns an :class:`AzureRefreshableCredential` ``AccessKey``, ``SasToken``
    or ``BearerToken`` (frazil's or icechunk's). ``scatter_initial_credentials``
    calls it once now and ships the result with every pickled copy.
    """
    pickled = pickled_refresh_function(get_credentials)
    current = get_credentials() if scatter_initial_credentials else None
    return AzureCredentials.Refreshable(pickled, current)


def azure_from_env_credentials() -> AzureCredentials.FromEnv:
    """Credentials from the environment (see :class:`AzureCredentials.FromEnv`)."""
    return AzureCredentials.FromEnv()


def azure_anonymous_credentials() -> AzureCredentials.Anonymous:
    """Unsigned requests."""
    return AzureCredentials.Anonymous()


def azure_credentials(*, access_key: str | None = None, sas_token: str | None = None,
                      bearer_token: str | None = None, from_env: bool | None = None,
                      anonymous: bool | None = None,
                      get_credentials: Callable[[], Any] | None = None,
                      scatter_initial_credentials: bool = False) -> AnyAzureCredential:
    """Pick the kind of credentials from the arguments, as icechunk's ``azure_credentials``.

    With no arguments at all: from the environment.
    """
    static = [access_key, sas_token, bearer_token].count(None) != 3
    if anonymous:
        return azure_anonymous_credentials()
    if get_credentials is not None:
        return azure_refreshable_credentials(get_credentials, scatter_initial_credentials)
    if (from_env is None or from_env) and not static:
        return azure_from_env_credentials()
    if static and not from_env:
        return AzureCredentials.Static(azure_static_credentials(
            access_key=access_key, sas_token=sas_token, bearer_token=bearer_token))
    raise InvalidInputError("conflicting Azure credential options: give only one of "
                            "access_key, sas_token, bearer_token, from_env, anonymous, "
                            "get_credentials", ErrorKind.STORAGE_CONFIG)


_STATIC_KINDS = {"AccessKey": AzureStaticCredentials.AccessKey,
                 "SasToken": AzureStaticCredentials.SasToken,
                 "BearerToken": AzureStaticCredentials.BearerToken}


def coerce_credentials(value: Any) -> AnyAzureCredential:
    """frazil credentials from frazil's or icechunk's Azure credential objects.

    icechunk's (``icechunk.azure_credentials(...)``, also wrapped by
    ``containers_credentials``) are read by their class names and fields, so
    the same authorization dictionary works with both libraries.
    """
    if isinstance(value, (AzureCredentials.Anonymous, AzureCredentials.FromEnv,
                          AzureCredentials.Static, AzureCredentials.Refreshable)):
        return value
    if isinstance(value, _Secret):
        return AzureCredentials.Static(value)  # type: ignore[arg-type]
    kind = type(value).__name__
    if kind == "Azure" and hasattr(value, "_0"):  # icechunk's Credentials.Azure wrapper
        return coerce_credentials(value._0)
    if kind == "Anonymous":
        return AzureCredentials.Anonymous()
    if kind == "FromEnv":
        return AzureCredentials.FromEnv()
    if kind == "Static" and hasattr(value, "_0"):
        return coerce_credentials(value._0)
    if kind in _STATIC_KINDS and isinstance(getattr(value, "_0", None), str):
        return AzureCredentials.Static(_STATIC_KINDS[kind](value._0))  # type: ignore[arg-type]
    if kind == "Refreshable" and isinstance(getattr(value, "pickled_function", None), bytes):
        return AzureCredentials.Refreshable(value.pickled_function, value.current)
    raise InvalidInputError(f"unsupported Azure credentials: {kind}; use "
                            "frazil_azure.azure_credentials(...)", ErrorKind.STORAGE_CONFIG)
