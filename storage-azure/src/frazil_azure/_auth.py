"""From frazil's Azure credentials and ``config`` to what the SDK signs requests with.

The order follows object_store's Azure builder, which icechunk uses: ``config``
keys override the environment (read only for ``from_env``), and among the
secrets found a bearer token wins over an access key, then a client secret
(Entra ID application), a SAS token, the Azure CLI; the emulator falls back
to its well-known key; ``from_env`` without any secret uses azure-identity's
default chain when it is installed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError, StorageError

from frazil_azure._config import EMULATOR_ACCOUNT, EMULATOR_KEY, AzureOptions, parse_bool
from frazil_azure._config import canonical_key as _canonical_key
from frazil_azure._credentials import AnyAzureCredential, AzureCredentials

__all__ = ["Resolved", "env_config", "resolve"]

#: refresh refreshable credentials this long before they expire
REFRESH_MARGIN_S = 120.0


@dataclass(frozen=True, eq=False)
class Resolved:
    """An endpoint and a credential for the SDK, valid until ``expires_at`` (epoch seconds)."""

    endpoint: str
    credential: Any = None
    bearer: bool = False
    expires_at: float | None = None
    #: for frazil's own requests: the account, and its key or SAS token (neither: anonymous)
    account: str = ""
    key: str | None = field(default=None, repr=False)
    sas: str | None = field(default=None, repr=False)

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at - REFRESH_MARGIN_S

    def __repr__(self) -> str:
        return f"Resolved(endpoint={self.endpoint!r})"


class _Token:
    """An azure-core ``TokenCredential`` serving one bearer token."""

    def __init__(self, token: str, expires_at: float | None) -> None:
        self._token = token
        self._expires = int(expires_at or time.time() + 365 * 86400)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, self._expires)

    def __repr__(self) -> str:
        return "_Token(***)"


def env_config() -> dict[str, str]:
    """``AZURE_*`` variables that name a known ``config`` key, by canonical key."""
    out: dict[str, str] = {}
    for name, value in os.environ.items():
        if not name.upper().startswith("AZURE_") or not value:
            continue
        try:
            out[_canonical_key(name.lower())] = value
        except InvalidInputError:
            continue
    return out


def _epoch(when: datetime | None) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _refreshed(creds: AzureCredentials.Refreshable, previous: Resolved | None
               ) -> tuple[dict[str, str], float | None]:
    """The secret of a refreshable credential: the scattered one first, then the callback."""
    current = creds.current
    if current is None or previous is not None or _expired(current):
        try:
            current = creds.function()()
        except Exception as exc:
            raise StorageError(f"get_credentials failed: {type(exc).__name__}: {exc}",
                               ErrorKind.STORAGE_CONFIG) from exc
    for attr, key in (("key", "access_key"), ("token", "sas_key"), ("bearer", "token")):
        value = getattr(current, attr, None)
        if isinstance(value, str) and value:
            return {key: value}, _epoch(getattr(current, "expires_after", None))
    raise StorageError(f"get_credentials returned {type(current).__name__}; expected an "
                       "AzureRefreshableCredential AccessKey, SasToken or BearerToken",
                       ErrorKind.STORAGE_CONFIG)


def _expired(current: Any) -> bool:
    at = _epoch(getattr(current, "expires_after", None))
    return at is not None and time.time() >= at - REFRESH_MARGIN_S


def resolve(options: AzureOptions, credentials: AnyAzureCredential,
            previous: Resolved | None = None) -> Resolved:
    """What to sign with now; ``previous`` is the last result (a refresh is due)."""
    conf: dict[str, str] = {}
    if isinstance(credentials, AzureCredentials.FromEnv):
        conf.update(env_config())
    expires: float | None = None
    found: dict[str, str] = {}
    if isinstance(credentials, AzureCredentials.Static):
        secret = credentials.credentials
        conf[{"access_key": "access_key", "sas_token": "sas_key",
              "bearer_token": "token"}[secret.kind]] = secret.value
    elif isinstance(credentials, AzureCredentials.Refreshable):
        found, expires = _refreshed(credentials, previous)
    conf.update(options._canon)  # type: ignore[attr-defined]
    conf.update(found)  # the callback's secret is the point of a refreshable credential
    effective = AzureOptions(options.account, conf)
    endpoint = effective.endpoint
    if isinstance(credentials, AzureCredentials.Anonymous) or parse_bool(
            conf.get("skip_signature", "false")):
        return Resolved(endpoint, account=options.account)
    account = conf.get("account_name") or options.account
    if conf.get("token"):
        return Resolved(endpoint, _Token(conf["token"], expires), True, expires)
    if conf.get("access_key"):
        return Resolved(endpoint, {"account_name": account, "account_key": conf["access_key"]},
                        expires_at=expires, account=account, key=conf["access_key"])
    identity = _identity(conf)
    if identity is not None:
        return Resolved(endpoint, identity, True)
    if conf.get("sas_key"):
        from azure.core.credentials import AzureSasCredential

        return Resolved(endpoint, AzureSasCredential(conf["sas_key"].lstrip("?")),
                        expires_at=expires, account=account, sas=conf["sas_key"])
    if effective.use_emulator or (account == EMULATOR_ACCOUNT and endpoint.startswith("http://")):
        return Resolved(endpoint, {"account_name": account, "account_key": EMULATOR_KEY},
                        account=account, key=EMULATOR_KEY)
    if isinstance(credentials, AzureCredentials.FromEnv):
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            pass
        else:
            return Resolved(endpoint, DefaultAzureCredential(), True)
    raise StorageError(f"no Azure credentials found for account {options.account!r}: pass "
                       "access_key, sas_token or bearer_token, set AZURE_STORAGE_ACCOUNT_KEY "
                       "(or _SAS_KEY, _TOKEN) with from_env=True, install azure-identity for "
                       "managed identities, or use anonymous=True", ErrorKind.STORAGE_CONFIG)


def _identity(conf: dict[str, str]) -> Any:
    """An azure-identity credential for Entra ID settings in ``conf``, or ``None``."""
    wants_secret = bool(conf.get("client_id") and conf.get("client_secret") and
                        conf.get("tenant_id"))
    wants_federated = bool(conf.get("client_id") and conf.get("federated_token_file") and
                           conf.get("tenant_id"))
    wants_cli = parse_bool(conf.get("use_azure_cli", "false"))
    if not (wants_secret or wants_federated or wants_cli):
        return None
    try:
        import azure.identity as ai
    except ImportError as exc:
        raise StorageError("Entra ID credentials (client_id/client_secret/tenant_id, "
                           "federated_token_file, use_azure_cli) need azure-identity: "
                           "pip install 'frazil-azure[identity]'",
                           ErrorKind.STORAGE_CONFIG) from exc
    host = conf.get("authority_host")
    extra = {"authority": host} if host else {}
    if wants_secret:
        return ai.ClientSecretCredential(conf["tenant_id"], conf["client_id"],
                                         conf["client_secret"], **extra)
    if wants_federated:
        return ai.WorkloadIdentityCredential(tenant_id=conf["tenant_id"],
                                             client_id=conf["client_id"],
                                             token_file_path=conf["federated_token_file"])
    return ai.AzureCliCredential()
