"""Entry point of frazil-s3 (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import NameRegistry, StorageRegistry, VirtualChunkResolverRegistry, hookimpl

from frazil_s3._config import ChecksumAlgorithm, s3_store
from frazil_s3._resolver import S3ChunkResolver
from frazil_s3._storage import r2_storage, s3_from_url, s3_storage, tigris_storage


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``s3`` (``s3://``, ``s3a://``), ``tigris`` and ``r2``."""
    registry.add("s3", s3_storage, url_schemes=("s3", "s3a"), from_url=s3_from_url,
                 distribution="frazil-s3")
    registry.add("tigris", tigris_storage, distribution="frazil-s3")
    registry.add("r2", r2_storage, distribution="frazil-s3")


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register the ``s3://`` virtual chunk resolver."""
    registry.add("s3", S3ChunkResolver, url_schemes=("s3", "s3a"), distribution="frazil-s3")


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """icechunk's S3 names in the ``frazil`` namespace (``frazil.s3_storage``...)."""
    for obj in (s3_storage, s3_store, tigris_storage, r2_storage, ChecksumAlgorithm):
        registry.add(obj.__name__, obj)
