"""frazil-azure: Azure Blob Storage for frazil (azure-storage-blob), and the ``az://`` resolver.

``from frazil_azure import azure_storage`` gives icechunk's ``azure_storage``;
once the kernel maps the names lazily, ``frazil.azure_storage`` is the same
function.
"""

from __future__ import annotations

from frazil_azure._config import AzureOptions, AzureSettings, azure_store
from frazil_azure._credentials import (
    AnyAzureCredential,
    AnyAzureStaticCredential,
    AzureCredentials,
    AzureRefreshableCredential,
    AzureStaticCredentials,
    azure_anonymous_credentials,
    azure_credentials,
    azure_from_env_credentials,
    azure_refreshable_credentials,
    azure_static_credentials,
)
from frazil_azure._factory import azure_from_url, azure_storage
from frazil_azure._resolver import AzureChunkResolver, AzureContainerAccess, azure_container_access
from frazil_azure._storage import AzureStorage

__all__ = [
    "AnyAzureCredential",
    "AnyAzureStaticCredential",
    "AzureChunkResolver",
    "AzureContainerAccess",
    "AzureCredentials",
    "AzureOptions",
    "AzureRefreshableCredential",
    "AzureSettings",
    "AzureStaticCredentials",
    "AzureStorage",
    "azure_anonymous_credentials",
    "azure_container_access",
    "azure_credentials",
    "azure_from_env_credentials",
    "azure_from_url",
    "azure_refreshable_credentials",
    "azure_static_credentials",
    "azure_storage",
    "azure_store",
]
__version__ = "2.0.0.dev0"
