"""Credentials, ``config`` keys, errors and secrecy of frazil-azure, against Azurite."""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime, timedelta

import frazil
import pytest
from frazil import InvalidInputError, StorageError
from frazil.storage import ConditionFailedError, storage_from_url
from frazil_azure import (
    AzureCredentials,
    AzureOptions,
    AzureRefreshableCredential,
    AzureStaticCredentials,
    AzureStorage,
    azure_anonymous_credentials,
    azure_credentials,
    azure_from_env_credentials,
    azure_refreshable_credentials,
    azure_static_credentials,
    azure_storage,
    azure_store,
)
from frazil_azure.testing import ACCOUNT, KEY

WRONG_KEY = "d3JvbmcgYnV0IHdlbGwgZm9ybWVkIGtleSBvZiBnb29kIGxlbmd0aCEhIQ=="


def _roundtrip(storage, path="probe/obj", data=b"payload"):
    async def main():
        await storage.put_object(path, data)
        return await storage.get_object(path)

    return asyncio.run(main())


def _sas(endpoint, container, **perms):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    perms = perms or {"read": True, "write": True, "delete": True, "list": True, "add": True,
                      "create": True}
    return generate_container_sas(ACCOUNT, container, account_key=KEY,
                                  permission=ContainerSasPermissions(**perms),
                                  expiry=datetime.now(UTC) + timedelta(hours=1))


# -- credential factories (icechunk's rules) ------------------------------------------------------


def test_credential_factories_pick_the_kind():
    assert isinstance(azure_credentials(), AzureCredentials.FromEnv)
    assert isinstance(azure_credentials(anonymous=True), AzureCredentials.Anonymous)
    static = azure_credentials(sas_token="sv=1&sig=abc")
    assert isinstance(static, AzureCredentials.Static)
    assert isinstance(static.credentials, AzureStaticCredentials.SasToken)
    assert isinstance(azure_static_credentials(bearer_token="t"),
                      AzureStaticCredentials.BearerToken)
    assert isinstance(azure_from_env_credentials(), AzureCredentials.FromEnv)
    assert isinstance(azure_anonymous_credentials(), AzureCredentials.Anonymous)
    with pytest.raises(InvalidInputError):
        azure_static_credentials(access_key="a", sas_token="b")
    with pytest.raises(InvalidInputError):
        azure_credentials(access_key="a", from_env=True)
    with pytest.raises(ValueError):  # InvalidInputError is a ValueError, as icechunk raises
        azure_static_credentials()


def test_refreshable_scatters_initial_credentials():
    calls = []
    creds = azure_refreshable_credentials(_counting_key(calls), scatter_initial_credentials=True)
    assert isinstance(creds, AzureCredentials.Refreshable)
    assert len(calls) == 1 and creds.current.key == KEY
    assert KEY not in repr(creds) + str(creds) + creds._repr_html_()
    assert "AzureCredentials.Refreshable" in repr(creds)
    with pytest.raises(InvalidInputError):
        azure_refreshable_credentials(lambda: None)  # not picklable


class _counting_key:
    """Returns the emulator key; counts calls in a list, or in a file (pickled copies)."""

    def __init__(self, calls, expires_in=None):
        self.calls, self.expires_in = calls, expires_in

    def __call__(self):
        if isinstance(self.calls, list):
            self.calls.append(1)
        else:
            with open(self.calls, "a") as f:
                f.write("x")
        expiry = None if self.expires_in is None else \
            datetime.now(UTC) + timedelta(seconds=self.expires_in)
        return AzureRefreshableCredential.AccessKey(KEY, expires_after=expiry)


# -- config keys ----------------------------------------------------------------------------------


def test_config_keys_are_checked_and_canonicalised(azurite_endpoint):
    opts = AzureOptions(ACCOUNT, {"azure_storage_endpoint": azurite_endpoint,
                                  "AZURE_ALLOW_HTTP": "true", "timeout": "30s"})
    assert opts.endpoint == azurite_endpoint and opts.allow_http
    with pytest.raises(InvalidInputError, match="unknown Azure config key"):
        AzureOptions(ACCOUNT, {"endpoitn": azurite_endpoint})
    with pytest.raises(InvalidInputError, match="allow_http"):
        AzureOptions(ACCOUNT, {"endpoint": azurite_endpoint})
    with pytest.raises(InvalidInputError, match="duration"):
        AzureOptions(ACCOUNT, {"timeout": "soon"})
    assert AzureOptions("acct").endpoint == "https://acct.blob.core.windows.net"
    assert azure_store(account="a", config={"endpoint": "https://x"})._to_dict() == \
        {"azure": {"account": "a", "endpoint": "https://x"}}


def test_use_emulator_with_its_well_known_key(azurite_endpoint, container, monkeypatch):
    base = azurite_endpoint.rsplit("/", 1)[0]
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", base)
    storage = azure_storage(account=ACCOUNT, container=container, prefix="emu",
                            config={"use_emulator": "true"})
    assert _roundtrip(storage) == b"payload"


# -- credentials against Azurite ------------------------------------------------------------------


def test_sas_token(azurite_endpoint, container):
    kwargs = {"account": ACCOUNT, "container": container, "prefix": "sas",
                  "config": {"endpoint": azurite_endpoint, "allow_http": "true"}}
    token = _sas(azurite_endpoint, container)
    storage = azure_storage(sas_token=token, **kwargs)
    assert _roundtrip(storage) == b"payload"
    assert asyncio.run(storage.delete_objects(["probe/obj"])) == 1
    assert token.split("sig=")[1][:10] not in repr(storage)
    read_only = azure_storage(sas_token=_sas(azurite_endpoint, container, read=True), **kwargs)
    with pytest.raises(StorageError, match="refused"):
        asyncio.run(read_only.put_object("x", b"1"))


def test_refreshable_credentials_are_fetched_and_refreshed(azurite_endpoint, container,
                                                           tmp_path):
    calls = tmp_path / "calls"
    storage = azure_storage(account=ACCOUNT, container=container, prefix="refresh",
                            get_credentials=_counting_key(calls, expires_in=60),
                            config={"endpoint": azurite_endpoint, "allow_http": "true"})
    assert _roundtrip(storage) == b"payload"
    # expiring within the refresh margin: every use asks again
    assert _roundtrip(storage, "b") == b"payload"
    assert len(calls.read_text()) >= 2
    clone = pickle.loads(pickle.dumps(storage))
    assert _roundtrip(clone, "c") == b"payload"


def test_from_env(azurite_endpoint, container, monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", KEY)
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", azurite_endpoint)
    monkeypatch.setenv("AZURE_ALLOW_HTTP", "true")
    storage = azure_storage(account=ACCOUNT, container=container, prefix="env", from_env=True)
    assert _roundtrip(storage) == b"payload"


def test_wrong_credentials_give_a_clear_storage_error(azurite_endpoint, container):
    storage = azure_storage(account=ACCOUNT, container=container, prefix="bad",
                            access_key=WRONG_KEY, max_tries=2,
                            config={"endpoint": azurite_endpoint, "allow_http": "true"})
    with pytest.raises(StorageError, match="refused the credentials") as err:
        asyncio.run(storage.put_object("x", b"1"))
    assert WRONG_KEY not in str(err.value) and WRONG_KEY not in repr(storage)
    with pytest.raises(StorageError, match="refused"):
        frazil.Repository.open(storage)


def test_anonymous_on_a_private_container_is_refused(azurite_endpoint, container):
    storage = azure_storage(account=ACCOUNT, container=container, prefix="anon", anonymous=True,
                            config={"endpoint": azurite_endpoint, "allow_http": "true"})
    with pytest.raises(StorageError):
        asyncio.run(storage.list_objects_async())


def test_missing_container_names_it(az_kwargs):
    storage = azure_storage(**{**az_kwargs, "container": "no-such-container"}, prefix="p")
    with pytest.raises(StorageError, match="no-such-container.*does not exist"):
        asyncio.run(storage.put_object("x", b"1"))


def test_no_credentials_anywhere(azurite_endpoint, monkeypatch):
    for name in ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    storage = azure_storage(account="someaccount", container="c", prefix="p",
                            config={"endpoint": "http://127.0.0.1:9/someaccount",
                                    "allow_http": "true"})
    try:  # azure-identity is optional; without it the error is frazil's
        import azure.identity  # noqa: F401
    except ImportError:
        with pytest.raises(StorageError, match="no Azure credentials"):
            asyncio.run(storage.list_objects_async())


# -- secrecy --------------------------------------------------------------------------------------


def test_secrets_absent_from_repr_and_logs(azurite_endpoint, container, caplog):
    token = _sas(azurite_endpoint, container)
    sig = token.split("sig=")[1].split("&")[0]
    storage = azure_storage(account=ACCOUNT, container=container, prefix="logs",
                            sas_token=token,
                            config={"endpoint": azurite_endpoint, "allow_http": "true"})
    keyed = azure_storage(account=ACCOUNT, container=container, prefix="logs", access_key=KEY,
                          config={"endpoint": azurite_endpoint, "allow_http": "true",
                                  "account_key": KEY})
    for obj in (storage, keyed, keyed._az, keyed._az.options, keyed._az.credentials,
                azure_static_credentials(access_key=KEY)):
        assert KEY not in repr(obj) and sig not in repr(obj)
    with caplog.at_level(logging.DEBUG):
        assert _roundtrip(storage) == b"payload"
        assert _roundtrip(keyed) == b"payload"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert sig not in text and KEY not in text
    assert "sig=" in text  # the request lines were logged, with the signature masked


# -- storage behaviour ----------------------------------------------------------------------------


def test_etags_are_normalised_and_accepted_quoted(az_kwargs):
    from frazil.storage import VersionToken

    storage = azure_storage(**az_kwargs, prefix="etag")

    async def main():
        tok = await storage.put_object_if("r", b"1", expected=None)
        assert not tok.value.startswith('"')
        _, read_tok = await storage.get_object_versioned("r")
        assert read_tok == tok
        tok2 = await storage.put_object_if("r", b"2", expected=VersionToken(f'"{tok.value}"'))
        with pytest.raises(ConditionFailedError):
            await storage.put_object_if("r", b"3", expected=tok)
        with pytest.raises(ConditionFailedError):
            await storage.put_object_if("missing", b"3", expected=tok2)
        listed = await storage.list_objects_async("r")
        assert [o.path for o in listed] == ["r"]

    asyncio.run(main())


def test_container_root_repositories_are_not_created(az_kwargs):
    storage = azure_storage(**az_kwargs, prefix="")
    assert isinstance(storage, AzureStorage)
    with pytest.raises(InvalidInputError, match="non-empty prefix"):
        frazil.Repository.create(storage)


def test_storage_from_url_schemes(az_kwargs):
    kwargs = {k: v for k, v in az_kwargs.items() if k not in ("container",)}
    container = az_kwargs["container"]
    for url in (f"az://{container}/u1", f"azure://{container}/u1",
                f"abfs://{container}@{ACCOUNT}.dfs.core.windows.net/u1"):
        opts = dict(kwargs)
        if url.startswith("abfs"):
            opts.pop("account")
        storage = storage_from_url(url, **opts)
        assert isinstance(storage, AzureStorage)
        assert (storage.container, storage.prefix, storage.account) == (container, "u1", ACCOUNT)
    assert _roundtrip(storage) == b"payload"
    with pytest.raises(InvalidInputError, match="no Azure storage account"):
        storage_from_url(f"az://{container}/x")
    with pytest.raises(InvalidInputError, match="unknown azure_storage option"):
        azure_storage(**az_kwargs, prefix="p", max_trie=3)


def test_read_only(az_kwargs):
    storage = azure_storage(**az_kwargs, prefix="ro", read_only=True)
    with pytest.raises(frazil.IcechunkError):
        asyncio.run(storage.put_object("x", b"1"))


def _ic_key():
    import icechunk

    return icechunk.AzureRefreshableCredential.SasToken("tok", expires_after=None)


def test_icechunk_credential_objects_are_coerced():
    icechunk = pytest.importorskip("icechunk")
    from frazil_azure._credentials import coerce_credentials

    got = coerce_credentials(icechunk.azure_credentials(access_key="k1"))
    assert got == AzureCredentials.Static(AzureStaticCredentials.AccessKey("k1"))
    got = coerce_credentials(icechunk.azure_credentials(sas_token="s1"))
    assert got == AzureCredentials.Static(AzureStaticCredentials.SasToken("s1"))
    got = coerce_credentials(icechunk.azure_credentials(bearer_token="b1"))
    assert got == AzureCredentials.Static(AzureStaticCredentials.BearerToken("b1"))
    assert isinstance(coerce_credentials(icechunk.azure_credentials(anonymous=True)),
                      AzureCredentials.Anonymous)
    assert isinstance(coerce_credentials(icechunk.azure_credentials()), AzureCredentials.FromEnv)
    refresh = coerce_credentials(icechunk.azure_refreshable_credentials(_ic_key))
    assert isinstance(refresh, AzureCredentials.Refreshable)
    assert refresh.function()().token == "tok"
    with pytest.raises(InvalidInputError):
        coerce_credentials(object())


def test_bearer_token_over_plain_http_is_refused_clearly(az_kwargs):
    kwargs = {k: v for k, v in az_kwargs.items() if k != "access_key"}
    storage = azure_storage(**kwargs, prefix="b", bearer_token="a-token-value-1234")
    with pytest.raises(StorageError, match="need an https endpoint") as err:
        asyncio.run(storage.list_objects_async())
    assert "a-token-value-1234" not in str(err.value)


@pytest.mark.parametrize("name", ["azure_storage", "azure_credentials", "azure_static_credentials",
                                  "azure_refreshable_credentials", "azure_from_env_credentials",
                                  "azure_anonymous_credentials"])
def test_signatures_match_icechunk(name):
    """Every parameter of icechunk's function exists in frazil's, same kind and default."""
    import inspect

    icechunk = pytest.importorskip("icechunk")
    import frazil_azure

    theirs = inspect.signature(getattr(icechunk, name)).parameters
    ours = inspect.signature(getattr(frazil_azure, name)).parameters
    for pname, p in theirs.items():
        assert pname in ours, f"{name} lacks {pname}"
        assert ours[pname].kind == p.kind and ours[pname].default == p.default, pname
    icechunk_store = icechunk.storage.azure_store
    assert list(inspect.signature(frazil_azure.azure_store).parameters) == \
        list(inspect.signature(icechunk_store).parameters)


def test_registered_through_entry_points(frazil_fresh_plugins):
    from frazil_azure import AzureChunkResolver

    plugins = frazil_fresh_plugins
    for scheme in ("az", "abfs", "abfss", "azure"):
        assert plugins.resolver_for_scheme(scheme) is AzureChunkResolver
        plugins.storage_for_scheme(scheme)  # raises PluginNotFoundError if missing
    assert plugins.storage_factory("azure") is azure_storage
    mine = {(p.kind, p.name) for p in plugins.list_plugins() if p.distribution == "frazil-azure"}
    assert mine == {("storage", "azure"), ("virtual chunk resolver", "azure")}


@pytest.mark.parametrize("direct", [True, False])
def test_unusual_blob_names_are_signed_and_listed(az_kwargs, direct):
    storage = azure_storage(**az_kwargs, prefix="odd names", direct_requests=direct)
    path = "refs/branch.feature x/ünï~code+%20&=.json"

    async def main():
        token = await storage.put_object_if(path, b"1", expected=None)
        assert await storage.get_object(path) == b"1"
        assert await storage.get_object(path, (-1, None)) == b"1"
        await storage.put_object_if(path, b"2", expected=token)
        assert [o.path for o in await storage.list_objects_async("refs/")] == [path]
        assert await storage.object_size(path) == 1
        assert await storage.delete_objects([path]) == 1

    asyncio.run(main())
