"""HttpStorage against a real nginx: reads, ranges, errors, read-only refusals, secrets."""

from __future__ import annotations

import asyncio
import os
import pickle

import frazil
import pytest
from frazil import InvalidInputError, ReadOnlyError, StorageError
from frazil.storage import ObjectNotFoundError, VersionToken, storage_from_url
from frazil_http import HttpStorage, http_storage
from frazil_http.testing import AUTH_TOKEN

FAST = {"max_tries": 3, "initial_backoff_s": 0.01, "max_backoff_s": 0.02}


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def blob(served):
    folder, url = served
    data = os.urandom(5000)
    (folder / "sub").mkdir()
    (folder / "sub" / "obj").write_bytes(data)
    (folder / "empty").write_bytes(b"")
    return http_storage(url, **FAST), data


def test_whole_object_and_versioned_read(blob):
    storage, data = blob
    assert run(storage.get_object("sub/obj")) == data
    got, token = run(storage.get_object_versioned("sub/obj"))
    assert got == data and isinstance(token, VersionToken) and token.value.startswith('"')
    assert run(storage.object_size("sub/obj")) == len(data)
    assert run(storage.exists("sub/obj")) and not run(storage.exists("sub/nope"))


@pytest.mark.parametrize("rng", [(0, 10), (10, 4990), (4990, 5000), (4990, 6000), (100, None),
                                 (-7, None), (-9000, None), (5000, None), (0, 0), (42, 42)])
def test_byte_ranges_match_slices(blob, rng):
    storage, data = blob
    start, end = rng
    want = data[start:] if end is None else data[start:end]
    assert run(storage.get_object("sub/obj", rng)) == want


def test_range_past_the_end_is_invalid_input(blob):
    storage, _ = blob
    with pytest.raises(InvalidInputError):
        run(storage.get_object("sub/obj", (5001, None)))
    with pytest.raises(InvalidInputError):
        run(storage.get_object("sub/obj", (6000, 7000)))
    assert run(storage.get_object("empty", (0, None))) == b""
    assert run(storage.get_object("empty", (-4, None))) == b""


def test_missing_objects(blob):
    storage, _ = blob
    with pytest.raises(ObjectNotFoundError):
        run(storage.get_object("absent"))
    with pytest.raises(ObjectNotFoundError):
        run(storage.get_object("absent", (0, 4)))
    with pytest.raises(ObjectNotFoundError):
        run(storage.object_size("absent"))


def test_missing_repository(served):
    _, url = served
    storage = http_storage(url)
    assert frazil.Repository.exists(storage) is False
    with pytest.raises(frazil.RepositoryNotFoundError):
        frazil.Repository.open(storage)


def test_every_write_is_refused(blob, served):
    storage, data = blob
    assert storage.can_write is False
    for call in (lambda: storage.put_object("x", b"1"),
                 lambda: storage.put_object_if("x", b"1", expected=None),
                 lambda: storage.delete_objects(["sub/obj"])):
        with pytest.raises(ReadOnlyError, match="read-only"):
            run(call())
    assert run(storage.get_object("sub/obj")) == data  # nothing changed
    with pytest.raises(ReadOnlyError):
        frazil.Repository.create(http_storage(served[1] + "/new"))


def test_forbidden_and_server_errors_are_storage_errors(nginx_url):
    with pytest.raises(StorageError, match="refused access.*403") as info:
        run(http_storage(f"{nginx_url}/private/repo", **FAST).get_object("repo"))
    assert not isinstance(info.value, ObjectNotFoundError)
    with pytest.raises(StorageError, match="3 attempt.*status 500"):
        run(http_storage(f"{nginx_url}/broken/repo", **FAST).get_object("repo"))
    with pytest.raises(StorageError, match="refused access"):
        frazil.Repository.exists(http_storage(f"{nginx_url}/private/repo", **FAST))


def test_connection_refused_is_a_storage_error():
    from frazil_http.testing import free_port

    storage = http_storage(f"http://127.0.0.1:{free_port()}/repo", **FAST)
    with pytest.raises(StorageError, match="ConnectionError"):
        run(storage.get_object("repo"))


def test_headers_are_sent_and_never_shown(http_root, nginx_url):
    (http_root / "auth").mkdir(exist_ok=True)
    (http_root / "auth" / "obj").write_bytes(b"behind a token")
    url = f"{nginx_url}/auth"
    with pytest.raises(StorageError, match="401"):
        run(http_storage(url, **FAST).get_object("obj"))
    storage = http_storage(url, headers={"Authorization": f"Bearer {AUTH_TOKEN}"})
    assert run(storage.get_object("obj")) == b"behind a token"
    for text in (repr(storage), str(storage), repr(pickle.loads(pickle.dumps(storage)))):
        assert AUTH_TOKEN not in text and "Authorization" not in text
        assert text.startswith("<frazil.Storage>\ntype: HTTP\nurl: ")


def test_url_credentials_and_query_are_not_shown(nginx_url):
    storage = http_storage(nginx_url.replace("://", "://user:pa55word@") + "/r?sig=TOPSECRET")
    assert "pa55word" not in repr(storage) and "TOPSECRET" not in repr(storage)
    with pytest.raises(ObjectNotFoundError):
        run(storage.get_object("repo"))


def test_listing_needs_webdav(blob):
    storage, _ = blob
    with pytest.raises(StorageError, match="PROPFIND.*405"):
        run(storage.list_objects_async(""))


def test_pickle_round_trip_reads(blob):
    storage, data = blob
    clone = pickle.loads(pickle.dumps(storage))
    assert run(clone.get_object("sub/obj", (1, 3))) == data[1:3]


def test_bad_input():
    with pytest.raises(InvalidInputError):
        http_storage("ftp://example.com/repo")
    with pytest.raises(InvalidInputError):
        http_storage("http://127.0.0.1/repo", {"allow_http": "false"})
    with pytest.raises(InvalidInputError):
        http_storage("http://127.0.0.1/repo", headers={"bad name": "x"})
    with pytest.raises(InvalidInputError):
        http_storage("http://127.0.0.1/repo", {"timeout": "soon"})
    with pytest.raises(InvalidInputError):
        http_storage("http://127.0.0.1/repo", max_trie=3)


def test_opts_timeouts_are_parsed():
    storage = http_storage("http://127.0.0.1/repo", {"connect_timeout": "250ms",
                                                     "timeout": "2 seconds", "unknown": "x"})
    assert storage._client._timeouts == (0.25, 2.0)


def test_urls_open_through_the_registry(blob, served):
    _, url = served
    for u in (url, url.replace("http://", "http+icechunk://"), url.replace("http://", "http+ic://")):
        storage = storage_from_url(u)
        assert isinstance(storage, HttpStorage) and storage.base_url == url
    assert frazil.http_storage is http_storage


def test_listing_over_webdav_matches_the_files(tmp_path):
    """A real WebDAV server (WsgiDAV) answers PROPFIND: the listing is the folder's files."""
    pytest.importorskip("wsgidav")
    icechunk = pytest.importorskip("icechunk")
    import zarr
    from frazil_http.testing import webdav_server

    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "r")))
    s = repo.writable_session("main")
    # 800-byte chunks: above the inline threshold, so they are chunk objects
    zarr.create_array(s.store, name="a", shape=(400,), chunks=(100,), dtype="i8",
                      compressors=None)[:] = range(400)
    s.commit("some objects")
    files = {p.relative_to(tmp_path / "r").as_posix(): p.stat().st_size
             for p in (tmp_path / "r").rglob("*") if p.is_file()}
    with webdav_server(tmp_path) as url:
        storage = http_storage(f"{url}/r")
        listed = run(storage.list_objects_async(""))
        assert {o.path: o.size_bytes for o in listed} == files
        assert all(o.last_modified.tzinfo is not None for o in listed)
        chunks = run(storage.list_objects_async("chunks/"))
        assert {o.path for o in chunks} == {p for p in files if p.startswith("chunks/")}
        assert len(chunks) == 4
        assert run(http_storage(f"{url}/nothing-here").list_objects_async("")) == []
        got = zarr.open_array(frazil.Repository.open(storage).readonly_session("main").store,
                              path="a", mode="r")[:]
        assert got.tolist() == list(range(400))
