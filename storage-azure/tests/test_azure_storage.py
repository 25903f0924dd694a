"""frazil-azure passes the kernel's storage conformance suite against Azurite."""

from __future__ import annotations

import uuid

import pytest
from frazil.testing import StorageTests, VirtualChunkResolverTests
from frazil_azure import AzureChunkResolver, azure_storage, azure_store
from frazil_azure.testing import ACCOUNT, KEY, container_client, create_container


class TestAzureStorage(StorageTests):
    large_object_size = 12 * 2**20
    race_tasks = 8
    many_objects = 60

    @pytest.fixture(autouse=True)
    def _endpoint(self, azurite_endpoint):
        self.endpoint = azurite_endpoint

    def make_storage(self, tmp_path):
        return azure_storage(account=ACCOUNT, container=create_container(self.endpoint),
                             prefix=f"repo-{uuid.uuid4().hex[:8]}", access_key=KEY,
                             config={"endpoint": self.endpoint, "allow_http": "true"})


class TestAzureStorageThroughTheSDK(StorageTests):
    """Every request through azure-storage-blob (``direct_requests=False``), with small
    blocks: objects above ``max_single_put_size`` go up staged, conditions included."""

    large_object_size = 3 * 2**20
    race_tasks = 4
    many_objects = 10

    @pytest.fixture(autouse=True)
    def _endpoint(self, azurite_endpoint):
        self.endpoint = azurite_endpoint

    def make_storage(self, tmp_path):
        return azure_storage(account=ACCOUNT, container=create_container(self.endpoint),
                             prefix="blocks", access_key=KEY,
                             config={"endpoint": self.endpoint, "allow_http": "true"},
                             max_single_put_size=1024, block_size=512 * 1024,
                             direct_requests=False)


class TestAzureResolver(VirtualChunkResolverTests):
    large_object_size = 4 * 2**20

    @pytest.fixture(autouse=True)
    def _endpoint(self, azurite_endpoint):
        self.endpoint = azurite_endpoint

    def make_resolver(self, tmp_path):
        name = create_container(self.endpoint)
        cc = container_client(self.endpoint, name)

        def put(blob, data):
            cc.upload_blob(blob, data, overwrite=True)
            return f"az://{name}/{blob}"

        store = azure_store(account=ACCOUNT, config={"endpoint": self.endpoint,
                                                     "allow_http": "true"})
        from frazil_azure import AzureCredentials, azure_static_credentials

        creds = AzureCredentials.Static(azure_static_credentials(access_key=KEY))
        return AzureChunkResolver(f"az://{name}/", creds, store=store._to_dict()), put


class TestAzureResolverThroughTheSDK(TestAzureResolver):
    """The same resolver with every request through azure-storage-blob."""

    def make_resolver(self, tmp_path):
        from frazil_azure import AzureSettings

        resolver, put = super().make_resolver(tmp_path)
        prefix = resolver.container_prefix
        sdk = AzureChunkResolver(prefix, resolver._az.credentials,
                                 store=resolver._az.options,
                                 settings=AzureSettings(direct_requests=False))
        return sdk, put
