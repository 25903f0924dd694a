"""Entry point of frazil-azure (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import StorageRegistry, VirtualChunkResolverRegistry, hookimpl

from frazil_azure._factory import AZURE_SCHEMES, azure_from_url, azure_storage
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
