"""Helpers for tests against a real S3 API: moto's server on 127.0.0.1.

Used by floe-s3's own tests and by floe's cross-distribution tests; needs
``moto[server]`` (a test dependency, imported only when a server starts).
"""

from __future__ import annotations

import logging
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["create_bucket", "moto_server", "reset", "storage_kwargs"]


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto on a free loopback port; yields its endpoint URL, stops it after."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    """Wipe every bucket of the moto server."""
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req).read()


def create_bucket(endpoint: str, prefix: str = "floe") -> str:
    import boto3

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=name)
    return name


def storage_kwargs(endpoint: str, bucket: str) -> dict[str, Any]:
    """``s3_storage`` keyword arguments (floe's and icechunk's) for ``bucket``."""
    return dict(bucket=bucket, endpoint_url=endpoint, allow_http=True, force_path_style=True,
                access_key_id="x", secret_access_key="x", region="us-east-1")
