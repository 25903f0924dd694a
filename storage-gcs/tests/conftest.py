"""A real GCS JSON API for the tests: fake-gcs-server on 127.0.0.1, one process per session.

Each test gets a fresh bucket instead of a wiped server.
"""

from __future__ import annotations

import pytest
from frazil_gcs.testing import (
    create_bucket,
    fake_gcs_server,
    keep_google_auth_local,
    storage_kwargs,
)

keep_google_auth_local()  # before google-auth is first imported


@pytest.fixture(scope="session")
def gcs_endpoint():
    with fake_gcs_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(gcs_endpoint):
    return create_bucket(gcs_endpoint)


@pytest.fixture
def gcs_kwargs(gcs_endpoint, bucket):
    """Keyword arguments for ``gcs_storage`` (frazil's and icechunk's) against the bucket."""
    return storage_kwargs(gcs_endpoint, bucket)


@pytest.fixture
def gcs_client(gcs_endpoint):
    """A plain google-cloud-storage client on the emulator, for setting up and checking."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": gcs_endpoint})
