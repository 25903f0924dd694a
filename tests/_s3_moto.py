"""Fixtures of the top-level S3 tests: a moto server on 127.0.0.1 (uniquely named module)."""

from __future__ import annotations

import logging
import urllib.request
import uuid

import boto3
import pytest

logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def s3_moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket_kwargs(s3_moto_endpoint):
    """``s3_storage`` keyword arguments (floe's and icechunk's) for a fresh bucket."""
    req = urllib.request.Request(f"{s3_moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req).read()
    name = f"interop-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_moto_endpoint, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=name)
    return dict(bucket=name, endpoint_url=s3_moto_endpoint, allow_http=True,
                force_path_style=True, access_key_id="x", secret_access_key="x",
                region="us-east-1")
