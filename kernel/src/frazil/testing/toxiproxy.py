"""A toxiproxy-compatible fault-injection server for network tests.

`toxiproxy <https://github.com/Shopify/toxiproxy>`_ is a TCP proxy whose
faults ("toxics") are driven over a REST API. No ``toxiproxy-server`` binary
is available from the registries frazil's CI uses, so this module ships an
in-process server that speaks the same REST API (the calls the PyPI client
``toxiproxy-python`` makes) and really proxies TCP. :func:`start_toxiproxy`
prefers a real ``toxiproxy-server`` on ``PATH`` and falls back to it::

    from frazil.testing.toxiproxy import start_toxiproxy

    with start_toxiproxy() as server:
        client = server.configure_client()      # a toxiproxy.Toxiproxy
        proxy = client.create(upstream="127.0.0.1:9000", name="s3")
        proxy.add_toxic(type="latency", attributes={"latency": 100})

In tests, the session-scoped pytest fixture ``toxiproxy_server`` (from the
``frazil-testing`` plugin) yields such a started handle.

Toxics (``stream`` "upstream" is client to server, "downstream" server to
client; ``toxicity`` is the probability, drawn once per connection and toxic,
that the toxic applies to that connection):

``latency``     each chunk is held ``latency`` +/- ``jitter`` ms after arrival.
``bandwidth``   at most ``rate`` KB/s (1 KB = 1000 bytes).
``slow_close``  the end of the stream (FIN) is passed on ``delay`` ms late.
``timeout``     data is dropped; if ``timeout`` > 0 the connection is closed
                ``timeout`` ms after the toxic applied to it.
``reset_peer``  on the first chunk the data is dropped and, ``timeout`` ms
                later, both sockets are closed with a TCP RST.
``slicer``      chunks are cut into ``average_size`` +/- ``size_variation``
                byte slices sent ``delay`` microseconds apart.
``limit_data``  the connection is closed once ``bytes`` bytes have passed.

Toxics are looked up again for every chunk read from a socket, so adding,
updating or removing one takes effect on open connections as well, for the
data read after the change (a chunk already waiting out a latency keeps its
delay). Within one stream the order is fixed rather than the order of
creation: timeout, reset_peer, latency (summed), limit_data, slicer,
bandwidth. Disabling a proxy closes its listening socket (new connections are
refused) and aborts its open connections; enabling it listens on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote, urlsplit

__all__ = ["TOXIC_ATTRIBUTES", "VERSION", "ToxiproxyHandle", "ToxiproxyServer", "start_toxiproxy"]

#: What ``GET /version`` answers: the toxiproxy release whose API is mirrored.
VERSION = "2.12.0-frazil"

#: Toxic types and their attributes with default values.
TOXIC_ATTRIBUTES: dict[str, dict[str, int]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
}

_STREAMS = ("upstream", "downstream")
_READ_SIZE = 65536
_QUEUE_CHUNKS = 32  # per direction; beyond that TCP back-pressure applies
_CALL_TIMEOUT = 30.0
_LINGER_ZERO = struct.pack("ii", 1, 0)


class _ApiError(Exception):
    """An error answered to the REST client as ``{"error": ..., "status": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _split_hostport(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise _ApiError(400, f"bad request body: invalid address {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Toxic:
    """One toxic of a proxy; mutated in place by ``POST .../toxics/{name}``."""

    _uids = itertools.count()

    def __init__(self, body: dict[str, Any], added: float) -> None:
        self.type = body.get("type")
        if self.type not in TOXIC_ATTRIBUTES:
            raise _ApiError(400, f"invalid toxic type: {self.type!r}")
        self.stream = body.get("stream") or "downstream"
        if self.stream not in _STREAMS:
            raise _ApiError(400, "stream was invalid, can be either upstream or downstream")
        self.name: str = body.get("name") or f"{self.type}_{self.stream}"
        self.uid = next(self._uids)
        self.added = added
        self.toxicity = 1.0
        self.attributes = dict(TOXIC_ATTRIBUTES[self.type])
        self.update(body)

    def update(self, body: dict[str, Any]) -> None:
        try:
            if body.get("toxicity") is not None:
                self.toxicity = float(body["toxicity"])
            for key, value in (body.get("attributes") or {}).items():
                if key in self.attributes:  # unknown attributes are ignored, as in Go
                    self.attributes[key] = int(value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise _ApiError(400, f"bad request body: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        fields = {key: getattr(self, key) for key in ("name", "type", "stream", "toxicity")}
        return {**fields, "attributes": dict(self.attributes)}


class _Proxy:
    """A listening socket plus its links; lives on the server's event loop."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[_Toxic] = []
        self.links: set[_Link] = set()
        self.changed = asyncio.Event()
        self._server: asyncio.Server | None = None

    def notify(self) -> None:
        """Wake links waiting on a toxic change (each waits on the current event)."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def start(self) -> None:
        if self._server is not None:
            return
        host, port = _split_hostport(self.listen)
        try:
            family, _, _, _, addr = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.create_server(addr, family=family, backlog=1024)
        except OSError as exc:
            raise _ApiError(500, f"cannot listen on {self.listen}: {exc}") from None
        self._server = await asyncio.start_server(self._accept, sock=sock, limit=_READ_SIZE * 2)
        bound = sock.getsockname()
        self.listen = _join_hostport(bound[0], bound[1])  # reports the port picked for :0
        self.enabled = True

    async def stop(self) -> None:
        self.enabled = False
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for link in list(self.links):
            link.close(abort=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self, reader, writer)
        if not self.enabled:
            link.close(abort=True)
            return
        self.links.add(link)
        # asyncio 3.12.1 logs an error for a cancelled connection callback task
        with contextlib.suppress(asyncio.CancelledError):
            await link.run()

    def to_json(self) -> dict[str, Any]:
        fields = {key: getattr(self, key) for key in ("name", "listen", "upstream", "enabled")}
        return {**fields, "toxics": [t.to_json() for t in self.toxics]}


class _Link:
    """One client connection and its upstream connection, pumped both ways."""

    def __init__(
        self, proxy: _Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.client = (reader, writer)
        self.upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.started = asyncio.get_running_loop().time()
        self.closed = False
        self.tasks: list[asyncio.Task[None]] = []
        self.passed: dict[int, int] = {}  # limit_data toxic uid -> bytes passed
        self._rolls: dict[tuple[int, float], bool] = {}

    def applies(self, toxic: _Toxic) -> bool:
        """Whether ``toxic`` applies to this link, drawn once per toxicity value."""
        key = (toxic.uid, toxic.toxicity)
        if key not in self._rolls:
            self._rolls[key] = random.random() < toxic.toxicity
        return self._rolls[key]

    def active(self, stream: str) -> list[_Toxic]:
        return [t for t in self.proxy.toxics if t.stream == stream and self.applies(t)]

    async def run(self) -> None:
        try:
            host, port = _split_hostport(self.proxy.upstream)
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(host, port, limit=_READ_SIZE * 2), 10.0
                )
            except (OSError, TimeoutError):
                return
            if self.closed:  # the proxy was disabled while we connected
                upstream[1].transport.abort()
                return
            self.upstream = upstream
            (client_in, client_out), (upstream_in, upstream_out) = self.client, upstream
            self.tasks = [
                asyncio.create_task(_Pipe(self, "upstream", client_in, upstream_out).run()),
                asyncio.create_task(_Pipe(self, "downstream", upstream_in, client_out).run()),
                asyncio.create_task(self._watch_timeouts()),
            ]
            await asyncio.wait(self.tasks[:2])
        finally:
            self.close()

    async def _watch_timeouts(self) -> None:
        """Close the link when a ``timeout`` toxic with a non-zero timeout expires."""
        loop = asyncio.get_running_loop()
        while not self.closed:
            changed = self.proxy.changed
            deadlines = [
                max(self.started, t.added) + t.attributes["timeout"] / 1000
                for t in self.proxy.toxics
                if t.type == "timeout" and t.attributes["timeout"] > 0 and self.applies(t)
            ]
            wait = min(deadlines) - loop.time() if deadlines else None
            if wait is not None and wait <= 0:
                self.close()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), wait)

    def close(self, *, abort: bool = False, reset: bool = False) -> None:
        """Close both sockets: flushing (FIN), dropping (``abort``) or with a RST (``reset``)."""
        if self.closed:
            return
        self.closed = True
        self.proxy.links.discard(self)
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        for pair in (self.client, self.upstream):
            if pair is None:
                continue
            transport = pair[1].transport
            sock = transport.get_extra_info("socket")
            if reset and sock is not None:
                with contextlib.suppress(OSError):  # linger 0 makes close() send a RST
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            if abort or reset:
                transport.abort()
            else:
                transport.close()


class _Pipe:
    """One direction of a link: a reader filling a queue, a writer applying toxics."""

    def __init__(
        self, link: _Link, stream: str, src: asyncio.StreamReader, dst: asyncio.StreamWriter
    ) -> None:
        self.link = link
        self.stream = stream
        self.src = src
        self.dst = dst
        self.queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUE_CHUNKS)
        self.next_send = 0.0  # bandwidth: loop time before which nothing more may go out

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            await self._write()
        except (OSError, EOFError):
            self.link.close(abort=True)
        finally:
            reader.cancel()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await self.src.read(_READ_SIZE)
            except OSError:
                self.link.close(abort=True)
                return
            await self.queue.put((loop.time(), data))  # arrival time for the latency toxic
            if not data:
                return

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            arrival, data = await self.queue.get()
            toxics = self.link.active(self.stream)
            if not data:
                linger = sum(t.attributes["delay"] for t in toxics if t.type == "slow_close")
                await asyncio.sleep(linger / 1000)
                if self.dst.can_write_eof():
                    self.dst.write_eof()  # half-close; the link closes when both ends did
                return
            if any(t.type == "timeout" for t in toxics):
                continue  # dropped, as toxiproxy does
            for toxic in toxics:
                if toxic.type == "reset_peer":
                    await asyncio.sleep(toxic.attributes["timeout"] / 1000)
                    self.link.close(reset=True)
                    return
            delay = sum((_latency(t) for t in toxics if t.type == "latency"), 0.0)
            await asyncio.sleep(max(0.0, arrival + delay / 1000 - loop.time()))
            limits = [t for t in toxics if t.type == "limit_data"]
            for toxic in limits:
                allowed = toxic.attributes["bytes"] - self.link.passed.get(toxic.uid, 0)
                data = data[: max(0, allowed)]
            await self._send(data, toxics)
            for toxic in limits:
                self.link.passed[toxic.uid] = self.link.passed.get(toxic.uid, 0) + len(data)
                if self.link.passed[toxic.uid] >= toxic.attributes["bytes"]:
                    self.link.close()
                    return

    async def _send(self, data: bytes, toxics: list[_Toxic]) -> None:
        slicer = next((t.attributes for t in toxics if t.type == "slicer"), None)
        rates = [t.attributes["rate"] for t in toxics if t.type == "bandwidth"]
        rate = min(rates) if rates else 0
        pieces = _slices(data, slicer) if slicer and slicer["average_size"] > 0 else [data]
        for i, piece in enumerate(pieces):
            if i and slicer:
                await asyncio.sleep(slicer["delay"] / 1e6)
            await self._shape(piece, rate)

    async def _shape(self, data: bytes, rate: int) -> None:
        """Write ``data`` at no more than ``rate`` KB/s (unlimited if ``rate`` <= 0)."""
        if rate <= 0:
            self.dst.write(data)
            await self.dst.drain()
            return
        loop = asyncio.get_running_loop()
        step = max(1, rate * 100)  # 100 ms worth of data per write
        for offset in range(0, len(data), step):
            part = data[offset : offset + step]
            start = max(loop.time(), self.next_send)
            await asyncio.sleep(start - loop.time())
            self.dst.write(part)
            await self.dst.drain()
            self.next_send = start + len(part) / (rate * 1000)


def _latency(toxic: _Toxic) -> float:
    jitter = toxic.attributes["jitter"]
    return max(0.0, toxic.attributes["latency"] + random.uniform(-jitter, jitter))


def _slices(data: bytes, slicer: dict[str, int]) -> list[bytes]:
    average, variation = slicer["average_size"], slicer["size_variation"]
    pieces, offset = [], 0
    while offset < len(data):
        size = max(1, average + random.randint(-variation, variation))
        pieces.append(data[offset : offset + size])
        offset += size
    return pieces


# path -> resource; "GET /proxies/x" is answered by _Api.get_proxy(body, "x"), and so on
_ROUTES = (
    (re.compile(r"/version"), "version"),
    (re.compile(r"/reset"), "reset"),
    (re.compile(r"/proxies"), "proxies"),
    (re.compile(r"/proxies/([^/]+)"), "proxy"),
    (re.compile(r"/proxies/([^/]+)/toxics"), "toxics"),
    (re.compile(r"/proxies/([^/]+)/toxics/([^/]+)"), "toxic"),
)


class _Api:
    """The REST resources; every method runs on the server's event loop."""

    def __init__(self) -> None:
        self.proxies: dict[str, _Proxy] = {}

    async def dispatch(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """Answer one request with ``(status, payload)``; payload None means no body."""
        path = urlsplit(path).path.rstrip("/") or "/"
        for pattern, resource in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = getattr(self, f"{method.lower()}_{resource}", None)
            if handler is None:
                return 405, {"error": "method not allowed", "status": 405}
            try:
                payload = json.loads(body) if body.strip() else {}
            except ValueError as exc:
                return 400, {"error": f"bad request body: {exc}", "status": 400}
            try:
                return await handler(payload, *map(unquote, match.groups()))
            except _ApiError as exc:
                return exc.status, {"error": str(exc), "status": exc.status}
        return 404, {"error": "not found", "status": 404}

    def _proxy(self, name: str) -> _Proxy:
        if name not in self.proxies:
            raise _ApiError(404, "proxy not found")
        return self.proxies[name]

    def _toxic(self, proxy: _Proxy, name: str) -> _Toxic:
        for toxic in proxy.toxics:
            if toxic.name == name:
                return toxic
        raise _ApiError(404, "toxic not found")

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, "bad request body: expected a JSON object")
        return body

    async def get_version(self, body: Any) -> tuple[int, Any]:
        return 200, VERSION

    async def post_reset(self, body: Any) -> tuple[int, Any]:
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.toxics.clear()
            proxy.notify()
        return 204, None

    async def get_proxies(self, body: Any) -> tuple[int, Any]:
        return 200, {name: proxy.to_json() for name, proxy in self.proxies.items()}

    async def post_proxies(self, body: Any) -> tuple[int, Any]:
        body = self._object(body)
        for field in ("name", "upstream"):
            if not body.get(field):
                raise _ApiError(400, f"missing required field: {field}")
        if body["name"] in self.proxies:
            raise _ApiError(409, "proxy already exists")
        _split_hostport(body["upstream"])
        proxy = _Proxy(body["name"], body.get("listen") or "127.0.0.1:0", body["upstream"])
        if body.get("enabled", True):
            await proxy.start()
        self.proxies[proxy.name] = proxy
        return 201, proxy.to_json()

    async def get_proxy(self, body: Any, name: str) -> tuple[int, Any]:
        return 200, self._proxy(name).to_json()

    async def post_proxy(self, body: Any, name: str) -> tuple[int, Any]:
        proxy, body = self._proxy(name), self._object(body)
        listen, upstream = body.get("listen", proxy.listen), body.get("upstream", proxy.upstream)
        enabled = bool(body.get("enabled", proxy.enabled))
        if (listen, upstream) != (proxy.listen, proxy.upstream) or not enabled:
            await proxy.stop()
        proxy.listen, proxy.upstream = listen, upstream
        if enabled:
            await proxy.start()
        return 200, proxy.to_json()

    async def delete_proxy(self, body: Any, name: str) -> tuple[int, Any]:
        await self._proxy(name).stop()
        del self.proxies[name]
        return 204, None

    async def get_toxics(self, body: Any, name: str) -> tuple[int, Any]:
        return 200, [t.to_json() for t in self._proxy(name).toxics]

    async def post_toxics(self, body: Any, name: str) -> tuple[int, Any]:
        proxy = self._proxy(name)
        toxic = _Toxic(self._object(body), asyncio.get_running_loop().time())
        if any(t.name == toxic.name for t in proxy.toxics):
            raise _ApiError(409, "toxic already exists")
        proxy.toxics.append(toxic)
        proxy.notify()
        return 200, toxic.to_json()

    async def get_toxic(self, body: Any, name: str, toxic: str) -> tuple[int, Any]:
        return 200, self._toxic(self._proxy(name), toxic).to_json()

    async def post_toxic(self, body: Any, name: str, toxic: str) -> tuple[int, Any]:
        proxy = self._proxy(name)
        found = self._toxic(proxy, toxic)
        found.update(self._object(body))
        proxy.notify()
        return 200, found.to_json()

    async def delete_toxic(self, body: Any, name: str, toxic: str) -> tuple[int, Any]:
        proxy = self._proxy(name)
        proxy.toxics.remove(self._toxic(proxy, toxic))
        proxy.notify()
        return 204, None

    async def shutdown(self) -> None:
        for proxy in self.proxies.values():
            await proxy.stop()
        self.proxies.clear()


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 front end: parses the request and hands it to :class:`_Api`."""

    server: _HTTPServer
    timeout = 10  # a silent client must not hold a handler thread (or stop()) for long

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = self.server.api.dispatch(self.command, self.path, body)
        status, payload = self.server.owner.call(request)
        if payload is None:
            data, kind = b"", None
        elif isinstance(payload, str):
            data, kind = payload.encode(), "text/plain"
        else:
            data, kind = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, address: tuple[str, int], owner: ToxiproxyServer, api: _Api) -> None:
        self.owner = owner
        self.api = api
        super().__init__(address, _Handler)


class ToxiproxyServer:
    """frazil's in-process toxiproxy server: REST API and proxies on background threads.

    Parameters
    ----------
    host, port
        Address of the REST API; port 0 picks a free port (see :attr:`port`).

    Notes
    -----
    Two threads: an HTTP server thread (plus one short-lived thread per
    request) and an asyncio event loop that owns every proxy, connection and
    toxic. :meth:`stop` ends and joins them and closes every socket; they are
    daemon threads only so that a forgotten :meth:`stop` cannot hang the interpreter.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._api = _Api()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._http: _HTTPServer | None = None

    @property
    def api_url(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:8474``."""
        return f"http://{_join_hostport(self.host, self.port)}"

    def start(self) -> ToxiproxyServer:
        """Bind the REST API and start serving; returns ``self``."""
        self._loop = asyncio.new_event_loop()
        loop_thread = threading.Thread(
            target=self._loop.run_forever, name="frazil-toxiproxy-loop", daemon=True
        )
        loop_thread.start()
        self._threads.append(loop_thread)
        try:
            self._http = _HTTPServer((self.host, self.port), self, self._api)
        except OSError:
            self.stop()
            raise
        self.port = self._http.server_address[1]
        http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="frazil-toxiproxy-api", daemon=True
        )
        http_thread.start()
        self._threads.append(http_thread)
        return self

    def call(self, coro: Any) -> Any:
        """Run ``coro`` on the proxy event loop and return its result (thread-safe)."""
        assert self._loop is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT)

    def stop(self) -> None:
        """Close the API, every proxy and connection, and join the threads. Idempotent."""
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.server_close()
        loop, self._loop = self._loop, None
        if loop is not None:
            if loop.is_running():
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(_CALL_TIMEOUT)
                loop.call_soon_threadsafe(loop.stop)
            for thread in self._threads:
                thread.join(_CALL_TIMEOUT)
            loop.close()
        self._threads.clear()

    async def _shutdown(self) -> None:
        await self._api.shutdown()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()


class ToxiproxyHandle:
    """A running toxiproxy server, real or frazil's; returned by :func:`start_toxiproxy`.

    Attributes
    ----------
    host, port
        Address of the REST API.
    binary
        Path of the ``toxiproxy-server`` executable, or None for frazil's server.
    """

    def __init__(
        self, host: str, port: int, stop: Callable[[], None], binary: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.binary = binary
        self._stop: Callable[[], None] | None = stop

    @property
    def api_url(self) -> str:
        """Base URL of the REST API."""
        return f"http://{_join_hostport(self.host, self.port)}"

    def configure_client(self) -> Any:
        """Point ``toxiproxy.api.APIConsumer`` at this server; return a ``toxiproxy.Toxiproxy``.

        ``APIConsumer`` keeps ``host`` and ``port`` as class attributes (process-wide);
        ``base_url`` is set too if the installed client version has one.
        """
        # lazy: toxiproxy-python is a test dependency, not a dependency of frazil
        from toxiproxy import Toxiproxy
        from toxiproxy.api import APIConsumer

        APIConsumer.host = self.host
        APIConsumer.port = self.port
        if hasattr(APIConsumer, "base_url"):
            APIConsumer.base_url = self.api_url
        return Toxiproxy()

    def stop(self) -> None:
        """Stop the server and release its sockets and threads. Idempotent."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ToxiproxyHandle {self.api_url} ({self.binary or 'in-process'})>"


def start_toxiproxy(
    host: str = "127.0.0.1", port: int = 0, *, prefer_binary: bool = True
) -> ToxiproxyHandle:
    """Start a toxiproxy server and return a handle (also a context manager).

    Parameters
    ----------
    host, port
        Address of the REST API; port 0 picks a free port.
    prefer_binary
        Run ``toxiproxy-server`` from ``PATH`` when there is one; otherwise, or
        if False, start frazil's in-process :class:`ToxiproxyServer`.

    Returns
    -------
    ToxiproxyHandle
        Call :meth:`ToxiproxyHandle.stop` (or leave the ``with`` block) to stop it.
    """
    binary = shutil.which("toxiproxy-server") if prefer_binary else None
    if binary is None:
        server = ToxiproxyServer(host, port).start()
        return ToxiproxyHandle(server.host, server.port, server.stop)
    if port == 0:  # the binary cannot report a port it picked itself
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "-host", host, "-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    handle = ToxiproxyHandle(host, port, stop, binary=binary)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore HTTP_PROXY
    deadline = time.monotonic() + 10
    while True:
        try:
            with opener.open(f"{handle.api_url}/version", timeout=1):
                return handle
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                handle.stop()
                raise RuntimeError(f"{binary} did not start on {handle.api_url}") from None
            time.sleep(0.05)
