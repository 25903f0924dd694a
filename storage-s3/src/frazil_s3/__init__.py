"""frazil-s3: S3 and S3-compatible storage for frazil (boto3), and the ``s3://`` resolver.

``from frazil_s3 import s3_storage`` gives icechunk's ``s3_storage``; once the
kernel maps the names lazily, ``frazil.s3_storage`` is the same function.
"""

from __future__ import annotations

from frazil_s3._config import (
    AnyS3Credential,
    ChecksumAlgorithm,
    S3Credentials,
    S3Options,
    S3Settings,
    S3StaticCredentials,
    s3_anonymous_credentials,
    s3_credentials,
    s3_from_env_credentials,
    s3_refreshable_credentials,
    s3_static_credentials,
    s3_store,
)
from frazil_s3._resolver import S3ChunkResolver, S3ContainerAccess, s3_container_access
from frazil_s3._storage import (
    S3Storage,
    hf_storage,
    r2_storage,
    s3_from_options,
    s3_from_url,
    s3_object_store_storage,
    s3_storage,
    tigris_storage,
)

__all__ = [
    "ChecksumAlgorithm",
    "S3ChunkResolver",
    "S3ContainerAccess",
    "AnyS3Credential",
    "S3Credentials",
    "S3Options",
    "S3Settings",
    "S3StaticCredentials",
    "S3Storage",
    "hf_storage",
    "r2_storage",
    "s3_anonymous_credentials",
    "s3_container_access",
    "s3_credentials",
    "s3_from_options",
    "s3_from_env_credentials",
    "s3_from_url",
    "s3_refreshable_credentials",
    "s3_static_credentials",
    "s3_object_store_storage",
    "s3_storage",
    "s3_store",
    "tigris_storage",
]
__version__ = "2.0.0.dev0"
