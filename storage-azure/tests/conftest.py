"""A real Azure Blob API for the tests: Azurite (npm) on 127.0.0.1, one per session."""

from __future__ import annotations

import pytest
from frazil_azure.testing import azurite_server, create_container, storage_kwargs


@pytest.fixture(scope="session")
def azurite_endpoint():
    with azurite_server() as endpoint:
        yield endpoint


@pytest.fixture
def container(azurite_endpoint):
    return create_container(azurite_endpoint)


@pytest.fixture
def az_kwargs(azurite_endpoint, container):
    """Keyword arguments for ``azure_storage`` (and icechunk's) against a fresh container."""
    return storage_kwargs(azurite_endpoint, container)
