"""Entry point of frazil-azure (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import NameRegistry, StorageRegistry, VirtualChunkResolverRegistry, hookimpl

import frazil_azure
from frazil_azure._factory import AZURE_SCHEMES, azure_from_url, azure_storage, new_azure_blob
from frazil_azure._resolver import AzureChunkResolver


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``azure`` (``az://``, ``abfs://``, ``abfss://``, ``azure://``)."""
    registry.add("azure", azure_storage, url_schemes=AZURE_SCHEMES, from_url=azure_from_url,
                 distribution="frazil-azure")


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register the Azure virtual chunk resolver for the same schemes."""
    registry.add("azure", AzureChunkResolver, url_schemes=AZURE_SCHEMES,
                 distribution="frazil-azure")


#: icechunk's top-level names that frazil-azure provides, added to ``frazil``
ICECHUNK_NAMES = ("AnyAzureCredential", "AnyAzureStaticCredential", "AzureCredentials",
                  "AzureRefreshableCredential", "AzureStaticCredentials",
                  "azure_anonymous_credentials", "azure_credentials",
                  "azure_from_env_credentials", "azure_refreshable_credentials",
                  "azure_static_credentials", "azure_storage",
                  "azure_store")  # azure_store: only in icechunk.storage, found there through it


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """icechunk's Azure names in the ``frazil`` namespace (``frazil.azure_storage``...)."""
    for name in ICECHUNK_NAMES:
        registry.add(name, getattr(frazil_azure, name))
    registry.add("new_azure_blob", new_azure_blob, module="frazil.Storage")
