"""A real S3 API for the tests: moto's server on 127.0.0.1, reset between tests."""

from __future__ import annotations

import logging
import urllib.request
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(moto_endpoint):
    """The endpoint, with all buckets wiped before the test."""
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req).read()
    return moto_endpoint


@pytest.fixture
def bucket(s3_endpoint):
    name = f"floe-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_kwargs(s3_endpoint, bucket):
    """Keyword arguments for ``s3_storage`` (and icechunk's) against the moto bucket."""
    return dict(bucket=bucket, endpoint_url=s3_endpoint, allow_http=True, force_path_style=True,
                access_key_id="x", secret_access_key="x", region="us-east-1")
