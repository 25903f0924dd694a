"""The rest of icechunk's ``icechunk.storage`` names, re-exported by :mod:`frazil.storage`.

Storage settings and virtual chunk store configs come from the kernel; the backends' storage
and store factories (``s3_storage``, ``gcs_store``...) from their distributions, through the
names those register in the ``frazil`` namespace.
"""

from __future__ import annotations

from frazil._settings import (
    StorageConcurrencySettings,
    StorageRetriesSettings,
    StorageSettings,
    StorageTimeoutSettings,
)
from frazil.plugins import backend_names_getattr
from frazil.virtual import (
    AnyObjectStoreConfig,
    ChunkType,
    ObjectStoreConfig,
    local_filesystem_store,
)

__all__ = [
    "AnyObjectStoreConfig",
    "ChunkType",
    "ObjectStoreConfig",
    "StorageConcurrencySettings",
    "StorageRetriesSettings",
    "StorageSettings",
    "StorageTimeoutSettings",
    "local_filesystem_store",
]

#: icechunk.storage names that the backend distributions provide
BACKEND_NAMES = frozenset({
    "ChecksumAlgorithm", "S3Options", "azure_storage", "azure_store", "gcs_storage", "gcs_store",
    "hf_storage", "http_storage", "http_store", "r2_storage", "redirect_storage",
    "s3_object_store_storage", "s3_storage", "s3_store", "tigris_storage"})


__getattr__ = backend_names_getattr("frazil.storage", BACKEND_NAMES)
