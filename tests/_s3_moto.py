"""Fixtures of the top-level S3 tests: a moto server on 127.0.0.1 (uniquely named module)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def s3_moto_endpoint():
    from frazil_s3.testing import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket_kwargs(s3_moto_endpoint):
    """``s3_storage`` keyword arguments (frazil's and icechunk's) for a fresh bucket."""
    from frazil_s3.testing import create_bucket, reset, storage_kwargs

    reset(s3_moto_endpoint)
    return storage_kwargs(s3_moto_endpoint, create_bucket(s3_moto_endpoint, "interop"))
