"""Entry point of frazil-gcs (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import StorageRegistry, VirtualChunkResolverRegistry, hookimpl

from frazil_gcs._factory import gcs_from_url, gcs_storage
from frazil_gcs._resolver import GcsChunkResolver


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``gcs`` (``gs://``, ``gcs://``)."""
    registry.add("gcs", gcs_storage, url_schemes=("gs", "gcs"), from_url=gcs_from_url,
                 distribution="frazil-gcs")


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register the ``gs://`` / ``gcs://`` virtual chunk resolver."""
    registry.add("gcs", GcsChunkResolver, url_schemes=("gs", "gcs"), distribution="frazil-gcs")
