"""Entry point of frazil-s3 (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import NameRegistry, StorageRegistry, VirtualChunkResolverRegistry, hookimpl

import frazil_s3
from frazil_s3._config import S3Credentials, S3Options
from frazil_s3._resolver import S3ChunkResolver
from frazil_s3._storage import (
    S3Storage,
    hf_storage,
    new_hf,
    new_r2,
    new_tigris,
    r2_storage,
    s3_from_options,
    s3_from_url,
    s3_storage,
    tigris_storage,
)


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``s3`` (``s3://``, ``s3a://``), ``tigris``, ``r2`` and ``hf``."""
    registry.add("s3", s3_storage, url_schemes=("s3", "s3a"), from_url=s3_from_url,
                 distribution="frazil-s3")
    registry.add("tigris", tigris_storage, distribution="frazil-s3")
    registry.add("r2", r2_storage, distribution="frazil-s3")
    registry.add("hf", hf_storage, distribution="frazil-s3")


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register the ``s3://`` virtual chunk resolver."""
    registry.add("s3", S3ChunkResolver, url_schemes=("s3", "s3a"), distribution="frazil-s3")


#: icechunk's top-level names that frazil-s3 provides, added to ``frazil``
ICECHUNK_NAMES = ("AnyS3Credential", "ChecksumAlgorithm", "S3Credentials", "S3Options",
                  "S3StaticCredentials", "hf_storage", "r2_storage", "s3_anonymous_credentials",
                  "s3_credentials",
                  "s3_from_env_credentials", "s3_refreshable_credentials",
                  "s3_static_credentials", "s3_object_store_storage", "s3_storage", "s3_store",
                  "tigris_storage")


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """icechunk's S3 names in the ``frazil`` namespace (``frazil.s3_storage``...)."""
    for name in ICECHUNK_NAMES:
        registry.add(name, getattr(frazil_s3, name))
    for name, constructor in STORAGE_CONSTRUCTORS.items():
        registry.add(name, constructor, module="frazil.Storage")


def new_s3(config: S3Options, bucket: str, prefix: str | None,
           credentials: S3Credentials | None = None, legacy_rooted_keys: bool | None = None, *,
           read_headers: dict[str, str] | None = None,
           write_headers: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> S3Storage:
    """icechunk's ``Storage.new_s3``: an S3 storage from options and credentials objects."""
    return s3_from_options(config, bucket, prefix, credentials, legacy_rooted_keys,
                           read_headers=read_headers, write_headers=write_headers,
                           headers=headers)


def new_s3_object_store(config: S3Options, bucket: str, prefix: str | None,
                        credentials: S3Credentials | None = None, *,
                        read_headers: dict[str, str] | None = None,
                        write_headers: dict[str, str] | None = None,
                        headers: dict[str, str] | None = None) -> S3Storage:
    """icechunk's ``Storage.new_s3_object_store``: the same S3 storage (icechunk's other
    client; frazil has one), printed as type ``S3``."""
    return s3_from_options(config, bucket, prefix, credentials, read_headers=read_headers,
                           write_headers=write_headers, headers=headers, label="S3")


#: icechunk's constructors on ``Storage`` that frazil-s3 provides
STORAGE_CONSTRUCTORS = {"new_s3": new_s3, "new_s3_object_store": new_s3_object_store,
                        "new_tigris": new_tigris, "new_r2": new_r2, "new_hf": new_hf}
