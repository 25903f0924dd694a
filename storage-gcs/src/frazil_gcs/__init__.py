"""frazil-gcs: Google Cloud Storage for frazil (google-cloud-storage), and the ``gs://`` resolver.

``from frazil_gcs import gcs_storage`` gives icechunk's ``gcs_storage``; the
kernel maps ``frazil.gcs_storage`` and ``frazil.gcs_store`` to these names.
"""

from __future__ import annotations

from frazil_gcs._config import GcsOptions, GcsSettings, gcs_store
from frazil_gcs._credentials import (
    AnyGcsCredential,
    AnyGcsStaticCredential,
    GcsBearerCredential,
    GcsCredentials,
    GcsStaticCredentials,
    gcs_anonymous_credentials,
    gcs_credentials,
    gcs_from_env_credentials,
    gcs_refreshable_credentials,
    gcs_static_credentials,
)
from frazil_gcs._factory import gcs_from_url, gcs_storage
from frazil_gcs._resolver import GcsChunkResolver
from frazil_gcs._storage import GcsStorage

__all__ = [
    "AnyGcsCredential",
    "AnyGcsStaticCredential",
    "GcsBearerCredential",
    "GcsChunkResolver",
    "GcsCredentials",
    "GcsOptions",
    "GcsSettings",
    "GcsStaticCredentials",
    "GcsStorage",
    "gcs_anonymous_credentials",
    "gcs_credentials",
    "gcs_from_env_credentials",
    "gcs_from_url",
    "gcs_refreshable_credentials",
    "gcs_static_credentials",
    "gcs_storage",
    "gcs_store",
]
__version__ = "2.0.0.dev0"
