"""Credentials, config and secrets of frazil-gcs: icechunk's factory semantics, clear
errors for wrong or absent credentials, and no key or token in reprs or logs."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from frazil import InvalidInputError, StorageError
from frazil_gcs import (
    GcsBearerCredential,
    GcsCredentials,
    GcsStaticCredentials,
    gcs_credentials,
    gcs_refreshable_credentials,
    gcs_static_credentials,
    gcs_storage,
    gcs_store,
)
from frazil_gcs.testing import emulator_key

SECRET = "ya29.TOP-SECRET-token-0123456789"


def _token() -> GcsBearerCredential:
    return GcsBearerCredential(SECRET, expires_after=datetime.now(UTC) + timedelta(hours=1))


def test_credential_kinds_follow_icechunk():
    assert isinstance(gcs_credentials(), GcsCredentials.FromEnv)
    assert isinstance(gcs_credentials(anonymous=True, bearer_token="t"), GcsCredentials.Anonymous)
    static = gcs_credentials(service_account_file="/k.json", bearer_token="t")
    assert static == GcsCredentials.Static(GcsStaticCredentials.ServiceAccount("/k.json"))
    assert gcs_static_credentials(bearer_token="t") == GcsStaticCredentials.BearerToken("t")
    assert isinstance(gcs_credentials(get_credentials=_token), GcsCredentials.Refreshable)
    with pytest.raises(InvalidInputError):
        gcs_credentials(bearer_token="t", from_env=True)
    with pytest.raises(InvalidInputError):
        gcs_static_credentials()
    with pytest.raises(InvalidInputError, match="picklable"):
        gcs_refreshable_credentials(lambda: _token())


def test_refreshable_credentials_pickle_and_scatter():
    creds = gcs_refreshable_credentials(_token, scatter_initial_credentials=True)
    assert creds.current is not None and creds.current.bearer == SECRET
    clone = pickle.loads(pickle.dumps(creds))
    assert clone.function() is _token


def test_no_secret_in_reprs(gcs_kwargs):
    key = json.dumps({"type": "service_account", "private_key": "-----BEGIN SECRET KEY-----",
                      "client_email": "x@y"})
    things = [gcs_storage(bucket="b", prefix="p", bearer_token=SECRET),
              gcs_storage(bucket="b", prefix="p", service_account_key=key),
              gcs_credentials(bearer_token=SECRET), gcs_credentials(service_account_key=key),
              gcs_refreshable_credentials(_token, scatter_initial_credentials=True), _token(),
              gcs_storage(prefix="p", **gcs_kwargs)]
    for thing in things:
        text = repr(thing) + str(thing)
        assert SECRET not in text and "SECRET KEY" not in text, text
    assert "gcs_base_url" not in repr(things[-1]) and "bucket: " in repr(things[-1])


def test_config_keys():
    with pytest.raises(InvalidInputError, match="unknown GCS config key"):
        gcs_storage(bucket="b", prefix="p", anonymous=True, config={"no_such_key": "1"})
    with pytest.raises(InvalidInputError, match="duration"):
        gcs_storage(bucket="b", prefix="p", anonymous=True, config={"timeout": "soon"})
    st = gcs_storage(bucket="b", prefix="p", anonymous=True,
                     config={"timeout": "1500ms", "connect_timeout": "2s"})
    assert (st.settings.read_timeout_s, st.settings.connect_timeout_s) == (1.5, 2.0)
    with pytest.raises(InvalidInputError, match="unknown gcs_storage option"):
        gcs_storage(bucket="b", prefix="p", anonymous=True, retries=3)
    assert gcs_store({"allow_http": "true"})._to_dict() == {"gcs": {"allow_http": "true"}}
    with pytest.raises(InvalidInputError):
        gcs_store({"bogus": "1"})


def test_plain_http_needs_allow_http(gcs_endpoint, bucket):
    with pytest.raises(InvalidInputError, match="allow_http"):
        gcs_storage(bucket=bucket, prefix="p", service_account_key=emulator_key(gcs_endpoint))
    with pytest.raises(InvalidInputError, match="allow_http"):
        gcs_storage(bucket=bucket, prefix="p", anonymous=True,
                    config={"endpoint": gcs_endpoint})


def test_emulator_from_environment(gcs_endpoint, bucket, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    st = gcs_storage(bucket=bucket, prefix="env")  # credentials from the environment
    asyncio.run(st.put_object("k", b"v"))
    assert asyncio.run(st.get_object("k")) == b"v"


def test_bad_keys_and_files_are_clear_errors(tmp_path, bucket):
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        gcs_storage(bucket=bucket, prefix="p", service_account_key="{not json")
    st = gcs_storage(bucket=bucket, prefix="p", service_account_file=str(tmp_path / "no.json"),
                     config={"endpoint": "http://127.0.0.1:9", "allow_http": "true"})
    with pytest.raises(StorageError, match="cannot read the GCS service account file"):
        asyncio.run(st.get_object("x"))
    st = gcs_storage(bucket=bucket, prefix="p",
                     service_account_key=json.dumps({"private_key": "SECRETPEM"}),
                     config={"endpoint": "http://127.0.0.1:9", "allow_http": "true"})
    with pytest.raises(StorageError, match="invalid GCS service account key") as info:
        asyncio.run(st.get_object("x"))
    assert "SECRETPEM" not in str(info.value)


def test_absent_credentials(bucket, monkeypatch, tmp_path):
    for var in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH",
                "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    st = gcs_storage(bucket=bucket, prefix="p",
                     config={"endpoint": "http://127.0.0.1:9", "allow_http": "true"})
    with pytest.raises(StorageError, match="no GCS credentials found") as info:
        asyncio.run(st.get_object("x"))
    assert info.value.kind == "storage-config"


class _TokenServer:
    """A real OAuth token endpoint on 127.0.0.1 that refuses every grant."""

    def __enter__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"error": "invalid_grant", "error_description": "bad key"}'
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_wrong_service_account_is_refused(gcs_endpoint, bucket, caplog):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with _TokenServer() as token_uri:
        key = json.dumps({"type": "service_account", "client_email": "who@example.com",
                          "private_key": pem, "private_key_id": "kid", "token_uri": token_uri,
                          "gcs_base_url": gcs_endpoint})
        st = gcs_storage(bucket=bucket, prefix="p", service_account_key=key,
                         config={"allow_http": "true"}, max_tries=2)
        with caplog.at_level(logging.DEBUG), \
                pytest.raises(StorageError, match="credentials") as info:
            asyncio.run(st.put_object("x", b"1"))
    assert "PRIVATE KEY" not in str(info.value)
    assert "PRIVATE KEY" not in caplog.text


def test_bearer_tokens_reach_the_server_but_not_the_logs(gcs_endpoint, bucket, caplog):
    st = gcs_storage(bucket=bucket, prefix="tok", get_credentials=_token,
                     config={"endpoint": gcs_endpoint, "allow_http": "true"})
    with caplog.at_level(logging.DEBUG):
        asyncio.run(st.put_object("k", b"v"))
        assert asyncio.run(st.get_object("k")) == b"v"
        st2 = gcs_storage(bucket=bucket, prefix="tok", bearer_token=SECRET,
                          config={"endpoint": gcs_endpoint, "allow_http": "true"})
        assert asyncio.run(st2.get_object("k")) == b"v"
        logging.getLogger("google.auth.transport.requests").debug(
            "headers {'Authorization': 'Bearer %s'}", SECRET)
    creds = st._gcs.client()._credentials
    assert creds.token == SECRET and creds.valid
    assert SECRET not in caplog.text


_CALLS: list[int] = []


def _short_lived() -> GcsBearerCredential:
    _CALLS.append(1)
    return GcsBearerCredential(f"tok-{len(_CALLS)}", expires_after=datetime.now(UTC))


def test_expired_tokens_are_fetched_again(gcs_endpoint, bucket):
    _CALLS.clear()
    st = gcs_storage(bucket=bucket, prefix="ref", get_credentials=_short_lived,
                     config={"endpoint": gcs_endpoint, "allow_http": "true"})
    asyncio.run(st.put_object("k", b"v"))
    asyncio.run(st.get_object("k"))
    assert len(_CALLS) >= 2  # each token was already expired: refreshed per request


def test_retries_and_timeouts_from_storage_settings(gcs_kwargs, tmp_path):
    import frazil
    import icechunk

    ice = icechunk.StorageSettings(
        retries=icechunk.StorageRetriesSettings(max_tries=3, initial_backoff_ms=50,
                                                max_backoff_ms=2000),
        timeouts=icechunk.StorageTimeoutSettings(connect_timeout_ms=1000, read_timeout_ms=2500,
                                                 operation_timeout_ms=9000),
        storage_class="NEARLINE")
    st = gcs_storage(prefix="s", storage_settings=ice, max_backoff_s=1.0, **gcs_kwargs)
    s = st.settings
    assert (s.max_tries, s.initial_backoff_s, s.max_backoff_s) == (3, 0.05, 1.0)
    assert (s.connect_timeout_s, s.read_timeout_s, s.operation_timeout_s) == (1.0, 2.5, 9.0)
    assert s.storage_class == "NEARLINE"
    # the persisted form: frazil's RepositoryConfig.storage of a repo icechunk configured
    cfg = icechunk.RepositoryConfig.default()
    cfg.storage = ice
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path)), config=cfg)
    persisted = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path))).config
    again = gcs_storage(prefix="s", storage_settings=persisted.storage, **gcs_kwargs).settings
    assert again == gcs_storage(prefix="s", storage_settings=ice, **gcs_kwargs).settings
    as_dict = {"retries": {"max_tries": 2, "initial_backoff_ms": 10, "max_backoff_ms": None},
               "timeouts": {"read_timeout_ms": 700}}
    s = gcs_storage(prefix="s", storage_settings=as_dict, **gcs_kwargs).settings
    assert (s.max_tries, s.initial_backoff_s, s.read_timeout_s) == (2, 0.01, 0.7)
