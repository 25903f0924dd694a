"""A real S3 API for the tests: moto's server on 127.0.0.1, reset between tests."""

from __future__ import annotations

import pytest
from frazil_s3.testing import FaultFront, create_bucket, moto_server, reset, storage_kwargs


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_endpoint(moto_endpoint):
    """The endpoint, with all buckets wiped before the test."""
    reset(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def bucket(s3_endpoint):
    return create_bucket(s3_endpoint)


@pytest.fixture
def s3_kwargs(s3_endpoint, bucket):
    """Keyword arguments for ``s3_storage`` (and icechunk's) against the moto bucket."""
    return storage_kwargs(s3_endpoint, bucket)


@pytest.fixture
def front(s3_endpoint):
    """A :class:`~frazil_s3.testing.FaultFront` relaying to the moto server."""
    with FaultFront(s3_endpoint) as f:
        yield f


@pytest.fixture
def front_kwargs(front, bucket):
    """``s3_storage`` keyword arguments that reach the bucket through the fault front."""
    return storage_kwargs(front.endpoint, bucket)
