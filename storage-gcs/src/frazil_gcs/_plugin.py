"""Entry point of frazil-gcs (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import NameRegistry, StorageRegistry, VirtualChunkResolverRegistry, hookimpl

import frazil_gcs
from frazil_gcs._factory import gcs_from_url, gcs_storage, new_gcs
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


#: icechunk's top-level names that frazil-gcs provides, added to ``frazil``
#: (gcs_anonymous_credentials is only in icechunk.credentials; frazil.credentials finds it here)
ICECHUNK_NAMES = ("AnyGcsCredential", "AnyGcsStaticCredential", "GcsBearerCredential",
                  "GcsCredentials", "GcsStaticCredentials", "gcs_anonymous_credentials",
                  "gcs_credentials",
                  "gcs_from_env_credentials", "gcs_refreshable_credentials",
                  "gcs_static_credentials", "gcs_storage", "gcs_store")


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """icechunk's GCS names in the ``frazil`` namespace (``frazil.gcs_storage``...)."""
    for name in ICECHUNK_NAMES:
        registry.add(name, getattr(frazil_gcs, name))
    registry.add("new_gcs", new_gcs, module="frazil.Storage")
