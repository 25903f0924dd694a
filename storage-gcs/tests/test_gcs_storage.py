"""frazil-gcs passes the kernel's conformance suites on a real GCS JSON API (fake-gcs-server).

fake-gcs-server enforces ``ifGenerationMatch`` itself (412), so the conditional
create and update tests exercise real preconditions, not emulated ones.
"""

from __future__ import annotations

import pytest
from frazil.testing import StorageTests, VirtualChunkResolverTests
from frazil_gcs import GcsChunkResolver, gcs_credentials, gcs_storage, gcs_store
from frazil_gcs.testing import emulator_key


class TestGcsStorage(StorageTests):
    @pytest.fixture(autouse=True)
    def _gcs(self, gcs_kwargs):
        self.kwargs = gcs_kwargs

    def make_storage(self, tmp_path):
        return gcs_storage(prefix=f"repos/{tmp_path.name}", **self.kwargs)


class TestGcsStorageRootSmallPagesResumable(StorageTests):
    """At the bucket root, listing 7 objects a page, resumable chunks of 256 KiB."""

    large_object_size = 9 * 2**20  # over the 8 MiB multipart limit: a resumable upload

    @pytest.fixture(autouse=True)
    def _gcs(self, gcs_kwargs):
        self.kwargs = gcs_kwargs

    def make_storage(self, tmp_path):
        return gcs_storage(prefix=None, list_page_size=7, resumable_chunk_size=2**20,
                           **self.kwargs)


class TestGcsChunkResolver(VirtualChunkResolverTests):
    @pytest.fixture(autouse=True)
    def _gcs(self, gcs_endpoint, bucket, gcs_client):
        self.endpoint, self.bucket, self.client = gcs_endpoint, bucket, gcs_client

    def make_resolver(self, tmp_path):
        def put(name, data):
            self.client.bucket(self.bucket).blob(f"{tmp_path.name}/{name}").upload_from_string(
                data)
            return f"gs://{self.bucket}/{tmp_path.name}/{name}"

        creds = gcs_credentials(service_account_key=emulator_key(self.endpoint))
        store = gcs_store({"allow_http": "true"})
        return GcsChunkResolver(f"gs://{self.bucket}/", creds, store=store._to_dict()), put


class TestGcsChunkResolverGcsScheme(TestGcsChunkResolver):
    """The same objects addressed as ``gcs://bucket/key``, credentials from the store config."""

    def make_resolver(self, tmp_path):
        _, put = super().make_resolver(tmp_path)

        def put_gcs(name, data):
            return "gcs://" + put(name, data)[len("gs://"):]

        store = gcs_store({"allow_http": "true", "endpoint": self.endpoint,
                           "skip_signature": "true"})
        return GcsChunkResolver(f"gcs://{self.bucket}/", None, store=store._to_dict()), put_gcs


def test_frazil_namespace_maps_to_frazil_gcs():
    import frazil
    import frazil_gcs

    assert frazil.gcs_storage is frazil_gcs.gcs_storage
    assert frazil.gcs_store is frazil_gcs.gcs_store
