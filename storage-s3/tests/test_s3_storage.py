"""frazil-s3 passes the kernel's storage conformance suite on a real S3 API (moto server)."""

from __future__ import annotations

import pytest
from frazil.testing import StorageTests
from frazil_s3 import s3_storage


class TestS3Storage(StorageTests):
    @pytest.fixture(autouse=True)
    def _s3(self, s3_kwargs):
        self.kwargs = s3_kwargs

    def make_storage(self, tmp_path):
        return s3_storage(prefix=f"repos/{tmp_path.name}", **self.kwargs)


class TestS3StorageNoPrefixSmallMultipart(StorageTests):
    """At the bucket root, with multipart uploads from 6 MiB (parts of 5 MiB)."""

    @pytest.fixture(autouse=True)
    def _s3(self, s3_kwargs):
        self.kwargs = s3_kwargs

    def make_storage(self, tmp_path):
        return s3_storage(prefix=None, multipart_threshold=6 * 2**20,
                          multipart_part_size=5 * 2**20, **self.kwargs)
