"""The http(s):// virtual chunk resolver: kernel conformance suite plus HTTP specifics."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from frazil import InvalidInputError, StorageError
from frazil.testing import VirtualChunkResolverTests
from frazil_http import HttpAccess, HttpChunkResolver, http_store
from frazil_http.testing import AUTH_TOKEN


@pytest.fixture
def _nginx(nginx_url, http_root, request):
    request.cls.nginx_url = nginx_url
    request.cls.http_root = http_root


@pytest.mark.usefixtures("_nginx")
class TestHttpChunkResolver(VirtualChunkResolverTests):
    nginx_url: str
    http_root: object

    def make_resolver(self, tmp_path):
        folder = self.http_root / f"vc-{tmp_path.name}"
        folder.mkdir()
        base = f"{self.nginx_url}/{folder.name}/"

        def put(name: str, data: bytes) -> str:
            (folder / name).write_bytes(data)
            return base + name

        return HttpChunkResolver(base, None, settings=None), put


def test_metadata_gives_etag_and_last_modified(served):
    folder, url = served
    (folder / "f.bin").write_bytes(b"x" * 100)
    os.utime(folder / "f.bin", (1_700_000_000, 1_700_000_000))
    resolver = HttpChunkResolver(url + "/", HttpAccess)
    etag, modified = asyncio.run(resolver.object_metadata(url + "/f.bin"))
    assert etag == f'"{1_700_000_000:x}-{100:x}"'  # nginx: "mtime-size" in hex
    assert modified == 1_700_000_000


def test_headers_from_the_persisted_store(http_root, nginx_url):
    (http_root / "auth").mkdir(exist_ok=True)
    (http_root / "auth" / "vc.bin").write_bytes(b"0123456789")
    url = f"{nginx_url}/auth/vc.bin"
    store = http_store(headers={"Authorization": f"Bearer {AUTH_TOKEN}"})._to_dict()
    assert store == {"http": {"headers": {"Authorization": f"Bearer {AUTH_TOKEN}"}}}
    resolver = HttpChunkResolver(f"{nginx_url}/auth/", None, store=store)
    assert asyncio.run(resolver.fetch(url, 2, 5)) == b"234"
    assert AUTH_TOKEN not in repr(resolver) and AUTH_TOKEN not in repr(http_store(
        headers={"Authorization": AUTH_TOKEN}))
    with pytest.raises(StorageError, match="401"):
        asyncio.run(HttpChunkResolver(f"{nginx_url}/auth/", None,
                                      settings=None).fetch(url, 0, 1))


def test_credentials_are_refused():
    with pytest.raises(InvalidInputError, match="takes no credentials"):
        HttpChunkResolver("http://127.0.0.1/", object())


def test_concurrency_is_bounded_by_max_concurrent_requests():
    """A real threaded server that counts requests in flight (each takes 50 ms)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.05)
            with lock:
                state["now"] -= 1
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-3/4")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"abcd")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        resolver = HttpChunkResolver(base, None, max_concurrent_requests=3)

        async def many():
            return await asyncio.gather(*(resolver.fetch(f"{base}o{i}", 0, 4) for i in range(12)))

        assert asyncio.run(many()) == [b"abcd"] * 12
        assert 2 <= state["max"] <= 3
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_adjacent_virtual_chunks_are_coalesced_by_the_kernel():
    """A real Range-capable server counting GETs: eight adjacent refs cost fewer requests."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import frazil
    import numpy as np
    import zarr

    blob = np.arange(64, dtype="<i4").tobytes()
    gets = []

    class Ranged(BaseHTTPRequestHandler):
        def do_GET(self):
            lo, hi = (int(x) for x in self.headers["Range"].split("=")[1].split("-"))
            gets.append((lo, hi))
            part = blob[lo:hi + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {lo}-{lo + len(part) - 1}/{len(blob)}")
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ranged)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        prefix = f"http://127.0.0.1:{server.server_address[1]}/data/"
        cfg = frazil.RepositoryConfig.default()
        cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(prefix, http_store()))
        repo = frazil.Repository.create(frazil.in_memory_storage(), config=cfg,
                                        authorize_virtual_chunk_access={prefix: HttpAccess})
        s = repo.writable_session("main")
        zarr.create_array(s.store, name="v", shape=(64,), chunks=(8,), dtype="<i4",
                          compressors=None)
        n = 8
        s.store.set_virtual_refs_arr("v", (n,), [prefix + "blob"] * n,
                                     np.arange(n, dtype="u8") * 32, np.full(n, 32, dtype="u8"))
        got = zarr.open_array(s.store, path="v", mode="r")[:]
        assert got.tolist() == list(range(64))
        assert 1 <= len(gets) < n
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
