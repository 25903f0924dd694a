"""frazil's toxiproxy server, driven only through the ``toxiproxy-python`` client.

The upstreams are real TCP servers on loopback; every fault is observed with
real sockets. With a ``toxiproxy-server`` on PATH the same tests run against it.
"""

from __future__ import annotations

import http.client
import os
import socket
import socketserver
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("toxiproxy")

from frazil.testing.toxiproxy import start_toxiproxy
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass


class _BlobHandler(socketserver.StreamRequestHandler):
    """Reads a line ``N``, answers ``N`` bytes and closes the connection."""

    def handle(self) -> None:
        try:
            size = int(self.rfile.readline())
            self.wfile.write(bytes(i % 251 for i in range(size)))
        except (OSError, ValueError):
            pass


class _HelloHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3/urllib3 use it

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default backlog of 5 drops parallel connects


class _HTTPServer(_Server, ThreadingHTTPServer):
    pass


def _serve(server: socketserver.TCPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def echo_upstream() -> Iterator[str]:
    yield from _serve(_Server(("127.0.0.1", 0), _EchoHandler))


@pytest.fixture(scope="module")
def blob_upstream() -> Iterator[str]:
    yield from _serve(_Server(("127.0.0.1", 0), _BlobHandler))


@pytest.fixture(scope="module")
def http_upstream() -> Iterator[str]:
    yield from _serve(_HTTPServer(("127.0.0.1", 0), _HelloHandler))


@pytest.fixture
def toxi(toxiproxy_server: Any) -> Iterator[Toxiproxy]:
    client = toxiproxy_server.configure_client()
    client.destroy_all()
    yield client
    client.destroy_all()


@pytest.fixture
def echo(toxi: Toxiproxy, echo_upstream: str) -> Proxy:
    return toxi.create(upstream=echo_upstream, name="echo")


def _connect(proxy: Proxy, timeout: float = 5.0) -> socket.socket:
    host, port = proxy.listen.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _recv_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    start = time.monotonic()
    sock.sendall(payload)
    assert _recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def _blob(proxy: Proxy, size: int) -> tuple[bytes, float]:
    """Ask the blob upstream for ``size`` bytes; return what arrived and the time to EOF."""
    with _connect(proxy) as sock:
        start = time.monotonic()
        sock.sendall(b"%d\n" % size)
        return _recv_all(sock), time.monotonic() - start


# --- REST API -----------------------------------------------------------------------


def test_create_list_get_destroy(toxi: Toxiproxy, echo_upstream: str) -> None:
    assert toxi.running() and toxi.version()
    proxy = toxi.create(upstream=echo_upstream, name="api", listen="127.0.0.1:0")
    assert proxy.enabled and proxy.upstream == echo_upstream
    assert proxy.listen.startswith("127.0.0.1:") and not proxy.listen.endswith(":0")
    assert set(toxi.proxies()) == {"api"}
    assert toxi.get_proxy("api").listen == proxy.listen
    with _connect(proxy) as sock:
        _round_trip(sock, b"x" * 100_000)
    assert toxi.destroy(proxy)
    assert toxi.get_proxy("api") is None
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)


def test_json_shapes_and_errors(toxi: Toxiproxy, echo: Proxy) -> None:
    with pytest.raises(ProxyExists):  # the server's 409, bypassing the client's own check
        APIConsumer.post("/proxies", json={"name": "echo", "upstream": echo.upstream})
    with pytest.raises(ProxyExists):
        toxi.create(upstream=echo.upstream, name="echo")
    with pytest.raises(NotFound):
        APIConsumer.get("/proxies/nope")
    with pytest.raises(NotFound):
        APIConsumer.get("/proxies/echo/toxics/nope")
    with pytest.raises(InvalidToxic):
        echo.add_toxic(type="no_such_toxic")
    echo.add_toxic(type="latency", attributes={"latency": 7})
    with pytest.raises(ProxyExists):
        echo.add_toxic(type="latency", attributes={"latency": 8})
    shown = APIConsumer.get("/proxies/echo").json()
    assert shown == {
        "name": "echo",
        "listen": echo.listen,
        "upstream": echo.upstream,
        "enabled": True,
        "toxics": [
            {
                "name": "latency_downstream",
                "type": "latency",
                "stream": "downstream",
                "toxicity": 1.0,
                "attributes": {"latency": 7, "jitter": 0},
            }
        ],
    }
    updated = APIConsumer.post(
        "/proxies/echo/toxics/latency_downstream", json={"attributes": {"jitter": 3}}
    ).json()
    assert updated["attributes"] == {"latency": 7, "jitter": 3}
    toxic = echo.get_toxic("latency_downstream")
    assert (toxic.type, toxic.stream, toxic.attributes["jitter"]) == ("latency", "downstream", 3)


def test_disable_refuses_and_drops(echo: Proxy) -> None:
    with _connect(echo) as sock:
        _round_trip(sock)
        with echo.down():
            with pytest.raises(ConnectionRefusedError):
                _connect(echo)
            try:
                assert sock.recv(10) == b""
            except ConnectionResetError:
                pass
        with _connect(echo) as again:  # same port again once enabled
            _round_trip(again)


def test_many_parallel_keep_alive_connections(toxi: Toxiproxy, http_upstream: str) -> None:
    proxy = toxi.create(upstream=http_upstream, name="http")
    proxy.add_toxic(type="latency", attributes={"latency": 10})
    host, port = proxy.listen.rsplit(":", 1)

    def client(worker: int) -> list[bytes]:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            bodies = []
            for i in range(5):
                conn.request("GET", f"/{worker}/{i}")
                bodies.append(conn.getresponse().read())
            return bodies
        finally:
            conn.close()

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(client, range(64)))
    assert results == [[f"/{w}/{i}".encode() for i in range(5)] for w in range(64)]


# --- toxics -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_latency_delays_each_direction(echo: Proxy, stream: str) -> None:
    echo.add_toxic(type="latency", stream=stream, attributes={"latency": 150, "jitter": 10})
    with _connect(echo) as sock:
        assert _round_trip(sock) >= 0.135


def test_toxic_added_and_removed_on_open_connection(echo: Proxy) -> None:
    with _connect(echo) as sock:
        assert _round_trip(sock) < 0.1
        echo.add_toxic(type="latency", name="slow", attributes={"latency": 200})
        assert _round_trip(sock) >= 0.2
        echo.destroy_toxic("slow")
        assert _round_trip(sock) < 0.1
    with _connect(echo) as sock:
        assert _round_trip(sock) < 0.1


def test_bandwidth_limits_throughput(toxi: Toxiproxy, blob_upstream: str) -> None:
    proxy = toxi.create(upstream=blob_upstream, name="blob")
    data, elapsed = _blob(proxy, 60_000)
    assert len(data) == 60_000 and elapsed < 0.2
    proxy.add_toxic(type="bandwidth", attributes={"rate": 200})  # 200 KB/s -> 0.3 s
    data, elapsed = _blob(proxy, 60_000)
    assert data == bytes(i % 251 for i in range(60_000))
    assert elapsed >= 0.18  # three 20 KB writes, 100 ms apart


def test_timeout_zero_stalls_until_removed(echo: Proxy) -> None:
    echo.add_toxic(type="timeout", attributes={"timeout": 0})
    with _connect(echo, timeout=0.3) as sock:
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        echo.destroy_toxic("timeout_downstream")
        sock.settimeout(5)
        assert _round_trip(sock, b"after") < 0.2


def test_timeout_closes_connection(echo: Proxy) -> None:
    echo.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 200})
    with _connect(echo) as sock:
        start = time.monotonic()
        assert sock.recv(10) == b""
        assert 0.18 <= time.monotonic() - start < 2


def test_reset_peer_resets_connection(echo: Proxy) -> None:
    echo.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 100})
    with _connect(echo) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
        assert time.monotonic() - start >= 0.09


def test_slicer_delivers_everything_in_slices(echo: Proxy) -> None:
    echo.add_toxic(
        type="slicer", attributes={"average_size": 100, "size_variation": 50, "delay": 5000}
    )
    payload = bytes(range(256)) * 16
    with _connect(echo) as sock:
        sock.sendall(payload)
        pieces: list[bytes] = []
        while sum(len(piece) for piece in pieces) < len(payload):
            pieces.append(sock.recv(65536))
            assert pieces[-1]
    assert b"".join(pieces) == payload
    assert len(pieces) >= 10  # unsliced, 4 KB arrive in one or two reads


def test_limit_data_closes_after_bytes(toxi: Toxiproxy, blob_upstream: str) -> None:
    proxy = toxi.create(upstream=blob_upstream, name="blob")
    proxy.add_toxic(type="limit_data", attributes={"bytes": 1000})
    data, _ = _blob(proxy, 5000)
    assert data == bytes(i % 251 for i in range(1000))


def test_slow_close_delays_eof(toxi: Toxiproxy, blob_upstream: str) -> None:
    proxy = toxi.create(upstream=blob_upstream, name="blob")
    assert _blob(proxy, 10)[1] < 0.15
    proxy.add_toxic(type="slow_close", attributes={"delay": 300})
    data, elapsed = _blob(proxy, 10)
    assert len(data) == 10 and elapsed >= 0.28


def test_toxicity_zero_never_applies(echo: Proxy) -> None:
    echo.add_toxic(type="latency", toxicity=0.0, attributes={"latency": 1000})
    echo.add_toxic(type="timeout", stream="upstream", toxicity=0, attributes={"timeout": 0})
    for _ in range(5):
        with _connect(echo) as sock:
            assert _round_trip(sock) < 0.5


def test_reset_clears_toxics_and_enables(toxi: Toxiproxy, echo: Proxy) -> None:
    echo.add_toxic(type="latency", attributes={"latency": 1000})
    echo.disable()
    assert not toxi.get_proxy("echo").enabled
    assert toxi.reset()
    assert toxi.get_proxy("echo").enabled and echo.toxics() == {}
    with _connect(echo) as sock:
        assert _round_trip(sock) < 0.5


# --- starter ------------------------------------------------------------------------

_FAKE_BINARY = """
import argparse, threading
from frazil.testing.toxiproxy import ToxiproxyServer

parser = argparse.ArgumentParser()
parser.add_argument("-host")
parser.add_argument("-port", type=int)
args = parser.parse_args()
ToxiproxyServer(args.host, args.port).start()
threading.Event().wait()
"""


def test_start_prefers_toxiproxy_server_on_path(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, echo_upstream: str
) -> None:
    script = tmp_path / "toxiproxy-server"  # stands in for the Go binary, same flags
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(_FAKE_BINARY))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(APIConsumer, "host", APIConsumer.host)  # restored afterwards
    monkeypatch.setattr(APIConsumer, "port", APIConsumer.port)
    with start_toxiproxy() as handle:
        assert handle.binary == str(script) and handle.port != 0
        proxy = handle.configure_client().create(upstream=echo_upstream, name="via_binary")
        with _connect(proxy) as sock:
            _round_trip(sock)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((handle.host, handle.port), timeout=2)
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
