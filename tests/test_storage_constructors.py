"""icechunk 2.3's ``Storage.new_*`` constructors and ``hf_storage``, and how storages print.

Each constructor writes a repository on an emulator (moto, fake-gcs-server,
Azurite) and the other library reads it, in both directions; both libraries
are driven through the same code (``lib.Storage.new_tigris(...)``), as
``import frazil as ic`` promises. ``hf_storage`` goes through a front playing
Hugging Face's gateway (the S3 API under ``/<namespace>``), reached through
``FRAZIL_HF_S3_ENDPOINT``. ``str``/``repr``/``_repr_html_`` are compared with
icechunk's for the same arguments, and no secret may appear in any of them.
"""

from __future__ import annotations

import importlib
import inspect
import json

import numpy as np
import pytest
import zarr
from _gcs_fake import download_tree, upload_tree
from _interop_support import load_lib

pytestmark = pytest.mark.interop

BOTH_WAYS = [("frazil", "icechunk"), ("icechunk", "frazil")]


def _write(lib, storage, seed):
    repo = lib.Repository.create(storage)
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    root.attrs["made_by"] = lib.__name__
    data = np.random.default_rng(seed).random((16, 16))
    root.create_array("x", shape=(16, 16), chunks=(8, 8), dtype="f8")[:] = data
    return session.commit(f"{lib.__name__} {seed}"), data


def _check_read(lib, storage, snapshot, data, writer):
    repo = lib.Repository.open(storage)
    assert [s.id for s in repo.ancestry(branch="main")][0] == snapshot
    group = zarr.open_group(repo.readonly_session("main").store, mode="r")
    assert group.attrs["made_by"] == writer
    np.testing.assert_array_equal(group["x"][:], data)


# --------------------------------------------------------------------- S3 family on moto

def _s3_constructors(lib, kw):
    """name -> (prefix -> storage) for each S3-family constructor, on moto."""
    ep, bucket = kw["endpoint_url"], kw["bucket"]

    def opts(**more):
        return lib.S3Options(endpoint_url=ep, allow_http=True, **more)

    creds = lib.s3_static_credentials(access_key_id="x", secret_access_key="x")
    keys = {"access_key_id": "x", "secret_access_key": "x"}
    return {
        "new_s3": lambda p: lib.Storage.new_s3(
            opts(region="us-east-1", force_path_style=True), bucket, p, creds),
        "new_s3_object_store": lambda p: lib.Storage.new_s3_object_store(
            opts(region="us-east-1", force_path_style=True), bucket, p, creds),
        "new_tigris": lambda p: lib.Storage.new_tigris(
            opts(region="us-east-1", force_path_style=True), bucket, p, False, creds),
        "new_r2": lambda p: lib.Storage.new_r2(opts(), bucket, p, None, creds),
        "new_r2_bucket_in_prefix": lambda p: lib.Storage.new_r2(
            opts(), None, f"{bucket}/{p}", None, creds),
        "tigris_storage": lambda p: lib.tigris_storage(
            bucket=bucket, prefix=p, region="us-east-1", endpoint_url=ep, allow_http=True,
            **keys),
        "r2_storage": lambda p: lib.r2_storage(bucket=bucket, prefix=p, endpoint_url=ep,
                                               allow_http=True, **keys),
        "s3_object_store_storage": lambda p: importlib.import_module(
            f"{lib.__name__}.storage").s3_object_store_storage(
            bucket=bucket, prefix=p, region="us-east-1", endpoint_url=ep, allow_http=True,
            force_path_style=True, **keys),
    }


@pytest.mark.parametrize("name", ["new_s3", "new_s3_object_store", "new_tigris", "new_r2",
                                  "new_r2_bucket_in_prefix", "tigris_storage", "r2_storage",
                                  "s3_object_store_storage"])
@pytest.mark.parametrize("writer,reader", BOTH_WAYS)
def test_s3_family_constructors_interoperate(s3_bucket_kwargs, name, writer, reader):
    w, r = load_lib(writer), load_lib(reader)
    snap, data = _write(w, _s3_constructors(w, s3_bucket_kwargs)[name]("repo"), 3)
    _check_read(r, _s3_constructors(r, s3_bucket_kwargs)[name]("repo"), snap, data, writer)


def test_weak_tigris_from_new_tigris_is_read_only(s3_bucket_kwargs):
    frazil = load_lib("frazil")
    _write(frazil, _s3_constructors(frazil, s3_bucket_kwargs)["new_s3"]("t"), 1)
    weak = frazil.Storage.new_tigris(
        frazil.S3Options(region="us-east-1", endpoint_url=s3_bucket_kwargs["endpoint_url"],
                         allow_http=True, force_path_style=True),
        s3_bucket_kwargs["bucket"], "t", True,
        frazil.s3_static_credentials(access_key_id="x", secret_access_key="x"))
    assert weak.can_write is False
    repo = frazil.Repository.open(weak)
    assert "x" in dict(zarr.open_group(repo.readonly_session("main").store, mode="r").arrays())
    with pytest.raises(frazil.StorageError, match="needs a region"):
        frazil.Storage.new_tigris(frazil.S3Options(), "b", "p", False)


# ---------------------------------------------------------------- Hugging Face gateway

@pytest.fixture
def hf_gateway(s3_bucket_kwargs, monkeypatch):
    """A front serving moto under ``/ns`` as Hugging Face serves its buckets, set as the
    gateway through ``FRAZIL_HF_S3_ENDPOINT``."""
    from frazil_s3.testing import FaultFront

    with FaultFront(s3_bucket_kwargs["endpoint_url"], path_prefix="/ns") as front:
        monkeypatch.setenv("FRAZIL_HF_S3_ENDPOINT", front.endpoint)
        yield front


def _hf(lib, kw, prefix, form):
    if form == "hf_storage":
        return lib.hf_storage(bucket=kw["bucket"], prefix=prefix, namespace="ns",
                              access_key_id="x", secret_access_key="x")
    return lib.Storage.new_hf(lib.S3Options(), kw["bucket"], prefix, "ns",
                              lib.s3_static_credentials(access_key_id="x",
                                                        secret_access_key="x"))


@pytest.mark.parametrize("form", ["hf_storage", "new_hf"])
def test_hf_storage_writes_through_the_gateway_and_icechunk_reads(s3_bucket_kwargs,
                                                                   hf_gateway, form):
    frazil, ic = load_lib("frazil"), load_lib("icechunk")
    storage = _hf(frazil, s3_bucket_kwargs, "hfrepo", form)
    assert f"endpoint_url: {hf_gateway.endpoint}/ns\n" in repr(storage)
    snap, data = _write(frazil, storage, 5)
    bucket = s3_bucket_kwargs["bucket"]
    # path-style, under /<namespace>: /ns/<bucket>/<key> or /ns/<bucket>?list-type=2...
    assert hf_gateway.seen and all(s.path.startswith((f"/ns/{bucket}/", f"/ns/{bucket}?"))
                                   for s in hf_gateway.seen)
    _check_read(ic, ic.s3_storage(prefix="hfrepo", **s3_bucket_kwargs), snap, data, "frazil")


@pytest.mark.parametrize("form", ["hf_storage", "new_hf"])
def test_hf_storage_reads_what_icechunk_wrote(s3_bucket_kwargs, hf_gateway, form):
    frazil, ic = load_lib("frazil"), load_lib("icechunk")
    snap, data = _write(ic, ic.s3_storage(prefix="icrepo", **s3_bucket_kwargs), 6)
    _check_read(frazil, _hf(frazil, s3_bucket_kwargs, "icrepo", form), snap, data, "icechunk")
    assert any(s.method == "GET" for s in hf_gateway.seen)


def test_hf_storage_defaults_and_bad_input(monkeypatch):
    frazil = load_lib("frazil")
    monkeypatch.delenv("FRAZIL_HF_S3_ENDPOINT", raising=False)
    storage = frazil.hf_storage(bucket="b", prefix="p", namespace="org", from_env=True)
    assert "endpoint_url: https://s3.hf.co/org\n" in str(storage)
    assert "region: us-east-1\n" in str(storage) and "force_path_style: True\n" in str(storage)
    with pytest.raises(frazil.InvalidInputError, match="namespace"):
        frazil.hf_storage(bucket="b", prefix="p", namespace="", from_env=True)
    with pytest.raises(frazil.InvalidInputError, match="root"):
        frazil.Repository.create(frazil.hf_storage(bucket="b", prefix=None, namespace="org",
                                                   from_env=True))


# ----------------------------------------------------------------------- GCS and Azure

@pytest.mark.parametrize("writer,reader", BOTH_WAYS)
def test_new_gcs_interoperates(gcs_bucket_kwargs, gcs_raw_client, tmp_path, writer, reader):
    """icechunk cannot list on fake-gcs-server: its side works on a local copy."""
    frazil, ic = load_lib("frazil"), load_lib("icechunk")
    bucket = gcs_bucket_kwargs["bucket"]
    creds = frazil.gcs_static_credentials(
        service_account_key=gcs_bucket_kwargs["service_account_key"])
    storage = frazil.Storage.new_gcs(bucket, "repo", creds, config=gcs_bucket_kwargs["config"])
    local = tmp_path / "copy"
    if writer == "frazil":
        snap, data = _write(frazil, storage, 7)
        assert download_tree(gcs_raw_client, bucket, "repo", local) > 0
        _check_read(ic, ic.local_filesystem_storage(str(local)), snap, data, "frazil")
    else:
        snap, data = _write(ic, ic.local_filesystem_storage(str(local)), 8)
        assert upload_tree(gcs_raw_client, bucket, "repo", local) > 0
        _check_read(frazil, storage, snap, data, "icechunk")


@pytest.mark.parametrize("writer,reader", BOTH_WAYS)
def test_new_azure_blob_interoperates(az_container_kwargs, writer, reader):
    def storage(lib):
        kw = az_container_kwargs
        creds = lib.azure_credentials(access_key=kw["access_key"])
        return lib.Storage.new_azure_blob(kw["account"], kw["container"], "repo", creds,
                                          config=kw["config"])

    w, r = load_lib(writer), load_lib(reader)
    snap, data = _write(w, storage(w), 9)
    _check_read(r, storage(r), snap, data, writer)


# ------------------------------------------------------------------------- signatures

CONSTRUCTORS = ["new_s3", "new_s3_object_store", "new_tigris", "new_r2", "new_hf", "new_gcs",
                "new_azure_blob", "new_http", "new_redirect", "new_in_memory",
                "new_local_filesystem"]


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructor_signatures_are_icechunks(name):
    ic, frazil = load_lib("icechunk"), load_lib("frazil")
    ice = inspect.signature(getattr(ic.Storage, name))
    flo = inspect.signature(getattr(frazil.Storage, name))
    assert [(p.name, p.kind, p.default) for p in flo.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in ice.parameters.values()]


def test_hf_storage_signature_is_icechunks():
    ic, frazil = load_lib("icechunk"), load_lib("frazil")
    ice, flo = inspect.signature(ic.hf_storage), inspect.signature(frazil.hf_storage)
    assert [(p.name, p.kind, p.default) for p in flo.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in ice.parameters.values()]


@pytest.mark.parametrize("name,dist", [("new_tigris", "frazil-s3"), ("new_r2", "frazil-s3"),
                                       ("new_hf", "frazil-s3"), ("new_gcs", "frazil-gcs"),
                                       ("new_azure_blob", "frazil-azure")])
def test_constructors_come_from_their_distribution(name, dist):
    from frazil.plugins import KNOWN_PROVIDERS, get_plugins

    frazil = load_lib("frazil")
    assert KNOWN_PROVIDERS["name"][f"frazil.Storage.{name}"] == dist  # the install hint
    constructor = getattr(frazil.Storage, name)  # icechunk's classmethod form
    assert constructor.__self__ is frazil.Storage
    assert constructor.__func__.__wrapped__ is get_plugins().public_name("frazil.Storage", name)
    assert constructor.__module__.startswith(dist.replace("-", "_"))


# --------------------------------------------------------------------------- printing

def _cases(lib):
    """name -> storage built with the same arguments by either library (no I/O)."""
    s3keys = {"access_key_id": "AKIDSECRET1", "secret_access_key": "SECRETKEY2"}
    return {
        "memory": lambda: lib.in_memory_storage(),
        "local": lambda: lib.local_filesystem_storage("/tmp/some/where"),
        "local_relative": lambda: lib.local_filesystem_storage("rel/dir/"),
        "local_brackets": lambda: lib.local_filesystem_storage("/tmp/a<b>&c"),
        "s3": lambda: lib.s3_storage(bucket="b", prefix="p", region="us-east-1",
                                     endpoint_url="http://localhost:9000", allow_http=True,
                                     session_token="TOKEN3", **s3keys),
        "s3_no_prefix": lambda: lib.s3_storage(bucket="b", prefix=None, from_env=True),
        "s3_slashes": lambda: lib.s3_storage(bucket="b", prefix="/a/b/", anonymous=True),
        "s3_every_flag": lambda: lib.s3_storage(
            bucket="b", prefix="p", region="r", endpoint_url="http://e", allow_http=True,
            anonymous=True, force_path_style=True, requester_pays=True,
            checksum_algorithm=lib.ChecksumAlgorithm.Sha256),
        "s3_headers": lambda: lib.s3_storage(bucket="b", prefix="", from_env=True,
                                             headers={"Authorization": "HEADERSECRET4"}),
        "s3_object_store": lambda: lib.Storage.new_s3_object_store(
            lib.S3Options(region="r"), "b", "p"),
        "tigris": lambda: lib.tigris_storage(bucket="b", prefix="p", region="iad", **s3keys),
        "tigris_weak": lambda: lib.tigris_storage(bucket="b", prefix="p",
                                                  use_weak_consistency=True, **s3keys),
        "new_tigris": lambda: lib.Storage.new_tigris(
            lib.S3Options(region="fra", endpoint_url="https://t.example"), "b", "p", False),
        "r2": lambda: lib.r2_storage(bucket="b", prefix="p", account_id="acct", **s3keys),
        "r2_bucket_in_prefix": lambda: lib.r2_storage(prefix="bb/pp", account_id="acct",
                                                      from_env=True),
        "new_r2": lambda: lib.Storage.new_r2(
            lib.S3Options(region="x", endpoint_url="https://q"), "b", "p", "acc"),
        "hf": lambda: lib.hf_storage(bucket="b", prefix="p", namespace="ns", **s3keys),
        "hf_root": lambda: lib.hf_storage(bucket="b", prefix=None, namespace="ns",
                                          from_env=True),
        "new_hf": lambda: lib.Storage.new_hf(
            lib.S3Options(region="eu", endpoint_url="https://ignored", allow_http=True),
            "b", "p", "ns"),
        "gcs": lambda: lib.gcs_storage(bucket="b", prefix="p", bearer_token="BEARER5"),
        "gcs_key": lambda: lib.gcs_storage(
            bucket="b", prefix="p",
            service_account_key=json.dumps({"type": "service_account",
                                            "private_key": "PRIVATEKEY6"})),
        "gcs_no_prefix": lambda: lib.gcs_storage(bucket="b", prefix=None, from_env=True),
        "gcs_empty_prefix": lambda: lib.gcs_storage(bucket="b", prefix="", from_env=True),
        "gcs_slash": lambda: lib.gcs_storage(bucket="b", prefix="a/b/", from_env=True),
        "new_gcs": lambda: lib.Storage.new_gcs("b", "p", config={"allow_http": "true"}),
        "azure": lambda: lib.azure_storage(account="acct", container="c", prefix="p",
                                           access_key="ACCESSKEY7"),
        "azure_sas": lambda: lib.azure_storage(account="acct", container="c", prefix="",
                                               sas_token="sv=1&sig=SASSIG8"),
        "new_azure_blob": lambda: lib.Storage.new_azure_blob(
            "a", "c", "p", config={"use_emulator": "true"}),
        "http": lambda: lib.http_storage("https://example.com/repo",
                                         headers={"Authorization": "Bearer HTTPTOKEN9"}),
        "http_slash": lambda: lib.http_storage("http://x/a/", {"allow_http": "true"}),
        "redirect": lambda: lib.redirect_storage("https://example.com/r"),
    }


def _printed(storage):
    html = storage._repr_html_()
    assert html.startswith("<style>") and html.count("</style>") == 1
    return str(storage), repr(storage), html.split("</style>", 1)[1]


@pytest.mark.parametrize("case", list(_cases(None)))
def test_str_repr_and_html_are_icechunks(case):
    ic, frazil = load_lib("icechunk"), load_lib("frazil")
    theirs = [t.replace("icechunk.Storage", "frazil.Storage")
              for t in _printed(_cases(ic)[case]())]
    ours = _printed(_cases(frazil)[case]())
    assert ours == tuple(theirs)


SECRETS = ["AKIDSECRET1", "SECRETKEY2", "TOKEN3", "HEADERSECRET4", "BEARER5", "PRIVATEKEY6",
           "ACCESSKEY7", "SASSIG8", "HTTPTOKEN9", "pa55word", "QUERYTOKEN"]


def _secret_cases(lib):
    return {**_cases(lib),
            "http_userinfo_query": lambda: lib.http_storage(
                "https://user:pa55word@example.com/r/?sig=QUERYTOKEN"),
            "redirect_query": lambda: lib.redirect_storage(
                "https://user:pa55word@example.com/r?token=QUERYTOKEN"),
            "s3_endpoint_userinfo": lambda: lib.s3_storage(
                bucket="b", prefix="p", endpoint_url="https://user:pa55word@e.example/?t=QUERYTOKEN",
                from_env=True)}


@pytest.mark.parametrize("case", list(_secret_cases(None)))
def test_no_secret_is_ever_printed(case):
    storage = _secret_cases(load_lib("frazil"))[case]()
    text = "".join(_printed(storage))
    assert text.startswith("<frazil.Storage>\ntype: ")
    assert [s for s in SECRETS if s in text] == []


def test_constructors_refuse_bad_arguments_clearly():
    frazil = load_lib("frazil")
    with pytest.raises(frazil.InvalidInputError, match="S3Options"):
        frazil.Storage.new_s3({"region": "x"}, "b", "p")
    with pytest.raises(frazil.InvalidInputError, match="credentials"):
        frazil.Storage.new_tigris(frazil.S3Options(region="r"), "b", "p", False, "secret")
    with pytest.raises(frazil.InvalidInputError, match="account_id or endpoint_url"):
        frazil.Storage.new_r2(frazil.S3Options(), "b", "p")
    with pytest.raises(frazil.InvalidInputError, match="bucket"):
        frazil.Storage.new_r2(frazil.S3Options(), None, None, "acct")
    with pytest.raises(frazil.InvalidInputError, match="account"):
        frazil.Storage.new_azure_blob("", "c", "p")
