"""redirect_storage: following Locations to a storage, icechunk's rules, read-only."""

from __future__ import annotations

import asyncio

import frazil
import pytest
from frazil import ReadOnlyError, StorageError
from frazil.storage import storage_from_url
from frazil_http import HttpStorage, RedirectStorage, redirect_storage

FAST = {"max_tries": 2, "initial_backoff_s": 0.01, "max_backoff_s": 0.02}


@pytest.fixture
def target(served):
    folder, url = served
    (folder / "obj").write_bytes(b"redirected bytes")
    return url


def test_tagged_http_location_and_chains(redirects, target):
    tagged = target.replace("http://", "https+ic://").replace("https+ic", "http+ic")
    first = redirects.add("/chain/a", tagged)
    second = redirects.add("/chain/b", "/chain/a", status=301)  # relative, followed
    third = redirects.add("/chain/c", second, status=307)
    for url in (first, second, third):
        storage = redirect_storage(url, **FAST)
        assert asyncio.run(storage.get_object("obj", (0, 10))) == b"redirected"
        resolved = asyncio.run(storage.target())
        assert isinstance(resolved, HttpStorage) and resolved.base_url == target


def test_target_is_resolved_once(redirects, target):
    url = redirects.add("/once", target.replace("http://", "http+icechunk://"))
    storage = redirect_storage(url)
    before = redirects.hits.get("/once", 0)

    async def reads():
        await storage.get_object("obj")
        return await asyncio.gather(*(storage.get_object("obj", (i, i + 1)) for i in range(8)))

    assert b"".join(asyncio.run(reads())) == b"redirect"
    assert redirects.hits["/once"] - before == 1


@pytest.mark.parametrize("location,message", [
    (None, "without a Location"),
    ("ftp://host/x", "unknown scheme 'ftp'"),
    ("s3://bucket/prefix", "needs a 'region'"),
    ("r2://bucket/prefix", "needs a 'account_id'"),
])
def test_bad_redirects_are_storage_errors(redirects, location, message):
    url = redirects.add(f"/bad/{message[:6].replace(' ', '_')}", location)
    with pytest.raises(StorageError, match=message):
        asyncio.run(redirect_storage(url, **FAST).get_object("repo"))


def test_plain_http_target_is_followed_then_must_redirect(redirects, target):
    url = redirects.add("/plain", target + "/obj")  # a 200 at the end: not a storage
    with pytest.raises(StorageError, match="200 without a Location"):
        asyncio.run(redirect_storage(url, **FAST).get_object("repo"))


def test_redirect_loops_are_bounded(redirects):
    url = redirects.add("/loop", "/loop")
    with pytest.raises(StorageError, match="more than 10 redirects"):
        asyncio.run(redirect_storage(url, **FAST).get_object("repo"))
    assert redirects.hits["/loop"] == 11


def test_missing_plugin_says_what_to_install(redirects):
    pytest.importorskip("frazil_http")
    try:
        import frazil_gcs  # noqa: F401
        pytest.skip("frazil-gcs is installed")
    except ImportError:
        pass
    url = redirects.add("/gs", "gs://bucket/prefix")
    with pytest.raises(frazil.InvalidInputError, match="pip install frazil-gcs"):
        asyncio.run(redirect_storage(url).get_object("repo"))


def test_writes_are_refused_without_any_request(redirects, target):
    url = redirects.add("/ro", target.replace("http://", "http+ic://"))
    storage = redirect_storage(url)
    for call in (lambda: storage.put_object("x", b"1"),
                 lambda: storage.put_object_if("x", b"1", expected=None),
                 lambda: storage.delete_objects(["obj"])):
        with pytest.raises(ReadOnlyError):
            asyncio.run(call())
    with pytest.raises(ReadOnlyError):
        frazil.Repository.create(storage)
    assert redirects.hits.get("/ro", 0) == 0


def test_missing_repository_through_a_redirect(redirects, target):
    url = redirects.add("/norepo", target.replace("http://", "http+ic://"))
    assert frazil.Repository.exists(redirect_storage(url)) is False
    with pytest.raises(frazil.RepositoryNotFoundError):
        frazil.Repository.open(redirect_storage(url))


def test_url_form_and_repr(redirects, target):
    url = redirects.add("/form", target.replace("http://", "http+ic://"))
    storage = storage_from_url("redirect+" + url)
    assert isinstance(storage, RedirectStorage) and storage.url == url
    assert repr(redirect_storage(url + "?token=SECRET")) == \
        f"<frazil.Storage>\ntype: redirect\nurl: {url}\n"
    with pytest.raises(frazil.InvalidInputError):
        redirect_storage("s3://bucket/prefix")
    assert frazil.redirect_storage is redirect_storage


def test_pickled_redirect_storage_reads(redirects, target):
    import pickle

    url = redirects.add("/pickled", target.replace("http://", "http+ic://"))
    storage = redirect_storage(url, max_concurrent_requests=3)
    fresh = pickle.loads(pickle.dumps(storage))
    assert asyncio.run(fresh.get_object("obj", (0, 3))) == b"red"
    resolved = pickle.loads(pickle.dumps(fresh))  # after resolution: the target travels too
    assert asyncio.run(resolved.get_object("obj", (3, 6))) == b"ire"
    assert asyncio.run(resolved.target()).max_concurrent_requests == 3
