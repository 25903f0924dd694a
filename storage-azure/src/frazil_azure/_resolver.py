"""The ``az://`` / ``abfs://`` / ``azure://`` virtual chunk resolver.

The kernel calls ``AzureChunkResolver(container_prefix, credentials,
store=...)`` for each authorized container. ``store`` is the container's
persisted store settings as icechunk writes them: ``{"azure": {"account":
..., <config keys>}}`` (from ``azure_store(account=..., config=...)``); an
:class:`~frazil_azure.AzureOptions` is accepted too. ``credentials`` is one of
icechunk's kinds, built with frazil's ``azure_credentials(...)`` (static,
refreshable, from env, anonymous), or ``None`` for the environment; an
:class:`AzureContainerAccess` also carries store options that override the
persisted ones.

The blob container is the URL's host, the blob name its path, as in icechunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from frazil.errors import ErrorKind, InvalidInputError, StorageError

from frazil_azure._client import AzureClient, error_code, redact_text, status_of
from frazil_azure._config import AzureOptions, AzureSettings
from frazil_azure._credentials import azure_from_env_credentials, coerce_credentials
from frazil_azure._factory import split_azure_url

__all__ = ["AzureChunkResolver", "AzureContainerAccess", "azure_container_access"]


@dataclass(frozen=True)
class AzureContainerAccess:
    """Store options, credentials and settings of one Azure virtual chunk container."""

    store: AzureOptions | None = None
    credentials: Any = None
    settings: AzureSettings | None = None


def azure_container_access(store: AzureOptions | None = None, credentials: Any = None,
                           settings: AzureSettings | None = None) -> AzureContainerAccess:
    """Bundle ``azure_store(...)`` and ``azure_credentials(...)`` for
    ``authorize_virtual_chunk_access``."""
    return AzureContainerAccess(store, credentials, settings)


def _credentials(value: Any) -> Any:
    return azure_from_env_credentials() if value is None else coerce_credentials(value)


class AzureChunkResolver:
    """Fetches byte ranges of Azure virtual chunks of one container prefix."""

    def __init__(self, container_prefix: str, credentials: Any = None, *,
                 store: AzureOptions | dict[str, Any] | None = None,
                 settings: AzureSettings | None = None) -> None:
        self.container_prefix = container_prefix
        options = store if isinstance(store, AzureOptions) else AzureOptions._from_dict(store)
        if isinstance(credentials, AzureContainerAccess):
            options = credentials.store or options  # explicit access options win
            settings = settings or credentials.settings
            credentials = credentials.credentials
        if options is None:
            account, _, _ = split_azure_url(container_prefix)
            if account is None:
                raise InvalidInputError(
                    f"the Azure virtual chunk container {container_prefix!r} has no store "
                    "account: give it azure_store(account=...)", ErrorKind.STORAGE_CONFIG)
            options = AzureOptions(account)
        self._az = AzureClient(options, _credentials(credentials),
                               settings or AzureSettings())

    def __repr__(self) -> str:
        return f"AzureChunkResolver({self.container_prefix!r})"

    def _fail(self, what: str, exc: BaseException) -> StorageError:
        code, status = error_code(exc), status_of(exc)
        reason = code or status or f"{type(exc).__name__}: {redact_text(str(exc))[:200]}"
        return StorageError(f"{what}: {reason}", ErrorKind.OBJECT_STORE)

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(etag, last-modified seconds)`` of the blob, for the chunk's checksum checks."""
        _, container, name = split_azure_url(location)

        direct = self._az.direct()

        def run(cc: Any) -> tuple[str | None, float | None]:
            if direct is not None:
                _, etag, when = direct.head(container, name)
                return etag, when
            props = cc.get_blob_client(name).get_blob_properties()
            modified = props.last_modified
            return props.etag, None if modified is None else modified.timestamp()

        try:
            return await self._az.call("head", container, run)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail(f"cannot check virtual chunk object {location!r}", exc) from None

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the blob at ``location``."""
        _, container, name = split_azure_url(location)
        if end <= start:
            return b""

        direct = self._az.direct()

        def run(cc: Any) -> bytes:
            if direct is not None:
                return direct.get(container, name, start, end - start)[0]
            stream = cc.download_blob(name, offset=start, length=end - start)
            return stream.readall()  # type: ignore[no-any-return]

        try:
            data = await self._az.call("get", container, run)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail(f"cannot read virtual chunk {location!r} [{start}, {end})",
                             exc) from None
        if len(data) != end - start:
            raise StorageError(f"virtual chunk {location!r} [{start}, {end}) is past the end "
                               f"of its object ({len(data)} bytes read)", ErrorKind.OBJECT_STORE)
        return data
