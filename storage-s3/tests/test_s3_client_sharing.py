"""Storages of one configuration share a client (and its connection pool) in a process;
any difference that changes how requests are signed or sent gets its own client. The
boto3 client is built only when a call needs it.

The signing key of each request is read from its Authorization header at the
fault front (a real HTTP server between frazil and moto).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

import pytest
from frazil_s3 import s3_storage
from frazil_s3.testing import iam_user_kwargs


def _signed_with(front) -> list[str]:
    """The access key id of every request the front received, in order."""
    out = []
    for seen in front.seen:
        auth = next((v for k, v in seen.headers.items() if k.lower() == "authorization"), "")
        found = re.search(r"Credential=([^/]+)/", auth)
        out.append(found.group(1) if found else "")
    return out


def test_same_configuration_shares_one_client(s3_kwargs):
    a = s3_storage(prefix="one", **s3_kwargs)
    b = s3_storage(prefix="two", **s3_kwargs)
    asyncio.run(a.put_object("k", b"a"))
    asyncio.run(b.put_object("k", b"b"))
    assert a.client is b.client
    assert a._s3.direct() is b._s3.direct()
    assert asyncio.run(a.get_object("k")) == b"a" and asyncio.run(b.get_object("k")) == b"b"


def test_other_credentials_or_settings_get_their_own_client(front, front_kwargs):
    a = s3_storage(prefix="p", **front_kwargs)
    b = s3_storage(prefix="p", **dict(front_kwargs, access_key_id="other-key"))
    c = s3_storage(prefix="p", max_tries=3, **front_kwargs)
    d = s3_storage(prefix="p", headers={"x-amz-meta-who": "d"}, **front_kwargs)
    assert len({id(s.client) for s in (a, b, c, d)}) == 4
    front.seen.clear()
    for storage in (a, b, a):
        asyncio.run(storage.put_object("k", b"v"))
    assert _signed_with(front) == ["x", "other-key", "x"]
    asyncio.run(d.put_object("k2", b"v"))
    assert front.requests("PUT")[-1].headers.get("x-amz-meta-who") == "d"
    asyncio.run(a.put_object("k3", b"v"))
    assert "x-amz-meta-who" not in front.requests("PUT")[-1].headers


def test_credentials_from_the_environment_follow_the_environment(front, front_kwargs,
                                                                 monkeypatch):
    kw = {k: v for k, v in front_kwargs.items()
          if k not in ("access_key_id", "secret_access_key")}

    def signer(key: str):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"{key}-secret")
        storage = s3_storage(prefix="p", from_env=True, **kw)
        front.seen.clear()
        asyncio.run(storage.put_object("k", b"v"))
        assert _signed_with(front) == [key]
        return storage

    first, later, again = signer("env-key-1"), signer("env-key-2"), signer("env-key-1")
    assert first.client is not later.client
    assert again.client is first.client


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "http://127.0.0.1:9000/",
                                      "https://s3.example.org/ns", "https://s3.example.org/a/b/"])
def test_path_style_urls_are_botocore_s(endpoint):
    """With a custom endpoint and path-style addressing the plain route builds object URLs
    itself: they are the URLs botocore's endpoint rules give."""
    storage = s3_storage(bucket="my-bucket.v2", prefix="p", endpoint_url=endpoint,
                         allow_http=True, force_path_style=True, access_key_id="x",
                         secret_access_key="x", region="us-east-1")
    direct = storage._s3.direct()
    key = "p/some key/ü+1"
    ours = direct._base("my-bucket.v2") + quote(key, safe="/~")
    theirs = storage.client.generate_presigned_url(
        "get_object", Params={"Bucket": "my-bucket.v2", "Key": key})
    assert ours == theirs.split("?", 1)[0]


def test_object_calls_and_listing_need_no_boto3_client(front, front_kwargs):
    storage = s3_storage(prefix="lean", **dict(front_kwargs, secret_access_key="lean"))
    asyncio.run(storage.put_object("k", b"v"))
    assert asyncio.run(storage.get_object("k")) == b"v"
    assert [o.path for o in asyncio.run(storage.list_objects_async(""))] == ["k"]
    assert storage._s3._clients()._client is None
    assert all(r.headers["User-Agent"].startswith("frazil-s3/") for r in front.seen)
    assert asyncio.run(storage.delete_objects(["k"])) == 1
    assert storage._s3._clients()._client is not None
    assert front.seen[-1].headers["User-Agent"].startswith("Botocore/")


_ODD_KEYS = ["a b", "plus+sign", "per%cent", "amp&er=sand", "ü/ñ", "q?x#y", "tab\tkey",
             "deep/er/key", "tilde~", "star*"]


def test_listing_matches_boto3_s(s3_kwargs):
    """Keys that need encoding in a URL or in XML, and pages of 1000 (the plain route
    follows continuation tokens): the same objects, sizes and times as boto3 lists."""
    import boto3

    storage = s3_storage(prefix="lst", **s3_kwargs)
    keys = _ODD_KEYS + [f"many/{i:04d}" for i in range(1010)]

    async def fill():
        await asyncio.gather(*(storage.put_object(k, k.encode() * 3) for k in keys))
        return await storage.list_objects_async("")

    ours = asyncio.run(fill())
    raw = boto3.client("s3", endpoint_url=s3_kwargs["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    theirs = [o for page in raw.get_paginator("list_objects_v2").paginate(
        Bucket=s3_kwargs["bucket"], Prefix="lst/") for o in page["Contents"]]
    assert len(ours) == len(keys) == len(theirs)
    assert sorted(o.path for o in ours) == sorted(keys)
    assert sorted((o.path, o.size_bytes, o.last_modified) for o in ours) == sorted(
        (o["Key"][len("lst/"):], o["Size"], o["LastModified"]) for o in theirs)
    assert sorted(o.path for o in asyncio.run(storage.list_objects_async("many/"))) == keys[10:]


def test_a_ca_bundle_set_later_reaches_a_storage_built_later(s3_endpoint, bucket, tmp_path,
                                                             monkeypatch):
    """Same options and credentials, but the environment changed: not the old client."""
    import frazil
    from frazil_s3.testing import FaultFront, self_signed_cert, storage_kwargs

    cert, key = self_signed_cert(str(tmp_path))
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    with FaultFront(s3_endpoint, tls=(cert, key)) as tls_front:
        kw = dict(storage_kwargs(tls_front.endpoint, bucket), allow_http=False)
        with pytest.raises(frazil.StorageError, match="SSL|certificate"):
            asyncio.run(s3_storage(prefix="tls", **kw).put_object("k", b"v"))
        monkeypatch.setenv("AWS_CA_BUNDLE", cert)
        asyncio.run(s3_storage(prefix="tls", **kw).put_object("k", b"v"))
        assert len(tls_front.requests("PUT")) == 1


def test_listing_pages_are_signed_as_the_server_checks(s3_kwargs, s3_endpoint):
    """moto verifies SigV4 here: a continuation token and a prefix that need percent-encoding
    in the query string are signed in the canonical form the server recomputes."""
    import urllib.request

    import boto3

    kw = iam_user_kwargs(s3_endpoint, s3_kwargs, "lister")
    storage = s3_storage(prefix="pages/a b+c=d", **kw)
    asyncio.run(storage.put_object("x/1 +=", b"1"))
    asyncio.run(storage.put_object("x/2/&?", b"2"))
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                       aws_access_key_id=kw["access_key_id"],
                       aws_secret_access_key=kw["secret_access_key"])

    def auth(count: str) -> None:
        req = urllib.request.Request(f"{s3_endpoint}/moto-api/reset-auth", data=count.encode(),
                                     method="POST", headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req).read()

    auth("0")
    try:
        first = raw.list_objects_v2(Bucket=kw["bucket"], Prefix="pages/a b+c=d/", MaxKeys=1)
        assert first["IsTruncated"]
        token = first["NextContinuationToken"]
        page = asyncio.run(storage._s3.call("list_objects_v2", Bucket=kw["bucket"],
                                            Prefix="pages/a b+c=d/", ContinuationToken=token))
        assert [o["Key"] for o in page["Contents"]] == ["pages/a b+c=d/x/2/&?"]
        assert sorted(o.path for o in asyncio.run(storage.list_objects_async("x/"))) == [
            "x/1 +=", "x/2/&?"]
        wrong = s3_storage(prefix="pages/a b+c=d", max_tries=1,
                           **dict(kw, secret_access_key="not-it"))
        with pytest.raises(Exception, match="refused"):
            asyncio.run(wrong.list_objects_async("x/"))
    finally:
        auth("inf")
