"""Fixtures of the top-level GCS tests: fake-gcs-server on 127.0.0.1 (uniquely named module),
and copying a repository between local disk and a bucket.

icechunk's ``gcs_storage`` cannot list on fake-gcs-server (its object store
lists through the XML API), so interop with icechunk goes through copies:
icechunk works on a local directory, whose objects are uploaded to or
downloaded from the emulator, key for key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:  # google-auth reads its environment at import: set it first
    from frazil_gcs.testing import keep_google_auth_local

    keep_google_auth_local()
except ImportError:  # frazil-gcs not installed: its tests skip or fail on their own
    pass



@pytest.fixture(scope="session")
def gcs_fake_endpoint():
    from frazil_gcs.testing import fake_gcs_server

    with fake_gcs_server() as endpoint:
        yield endpoint


@pytest.fixture
def gcs_bucket_kwargs(gcs_fake_endpoint):
    """``gcs_storage`` keyword arguments (frazil's and icechunk's) for a fresh bucket."""
    from frazil_gcs.testing import create_bucket, storage_kwargs

    return storage_kwargs(gcs_fake_endpoint, create_bucket(gcs_fake_endpoint, "interop"))


@pytest.fixture
def gcs_raw_client(gcs_fake_endpoint):
    """A plain google-cloud-storage client on the emulator."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": gcs_fake_endpoint})


def upload_tree(client, bucket: str, prefix: str, root: str | Path) -> int:
    """Upload every file under ``root`` to ``gs://bucket/prefix/<relative path>``."""
    root = Path(root)
    n = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(root).as_posix()}"
            client.bucket(bucket).blob(key).upload_from_filename(str(path))
            n += 1
    return n


def download_tree(client, bucket: str, prefix: str, root: str | Path) -> int:
    """Download every object under ``gs://bucket/prefix/`` into ``root`` (replacing it)."""
    import shutil

    root = Path(root)
    shutil.rmtree(root, ignore_errors=True)
    n = 0
    for blob in client.list_blobs(bucket, prefix=f"{prefix}/"):
        dest = root / blob.name[len(prefix) + 1:]
        dest.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(dest))
        n += 1
    return n
