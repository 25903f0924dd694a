"""Fixtures of the top-level Azure tests: Azurite on 127.0.0.1 (uniquely named module)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def azurite_blob_endpoint():
    from frazil_azure.testing import azurite_server

    with azurite_server() as endpoint:
        yield endpoint


@pytest.fixture
def az_container_kwargs(azurite_blob_endpoint):
    """``azure_storage`` keyword arguments (frazil's and icechunk's) for a fresh container."""
    from frazil_azure.testing import create_container, storage_kwargs

    return storage_kwargs(azurite_blob_endpoint,
                          create_container(azurite_blob_endpoint, "interop"))
