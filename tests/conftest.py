"""Shared fixtures for frazil's cross-distribution tests (interop, crash safety).

The same test code drives both libraries: a test receives the *module*
(``icechunk`` or ``frazil``) and uses only the icechunk public API on it, so
``lib`` is interchangeable exactly as ``import frazil as ic`` promises.

Libraries are imported lazily, inside the tests, so that the icechunk-only
variants (which check the harness itself) run even while frazil cannot be
imported; a frazil variant then fails with the import error, which is the
honest answer.
"""

from __future__ import annotations

import pytest
from _gcs_fake import gcs_bucket_kwargs, gcs_fake_endpoint, gcs_raw_client  # noqa: F401
from _interop_support import LIBRARIES, load_lib  # noqa: F401  (re-exported for fixtures)
from _s3_moto import s3_bucket_kwargs, s3_moto_endpoint  # noqa: F401  (S3 fixtures)
from _azure_azurite import az_container_kwargs, azurite_blob_endpoint  # noqa: F401  (Azure)
from _http_nginx import http_nginx_url, http_redirects, http_www  # noqa: F401  (HTTP fixtures)


@pytest.fixture
def repo_path(tmp_path) -> str:
    """A not-yet-existing directory for a local-filesystem repository."""
    return str(tmp_path / "repo")
