"""Test support: nginx as a static file server, and a tiny redirect server.

Both run on 127.0.0.1 and are stopped by their owner (the context managers
below). nginx comes from Debian's ``nginx-light`` (``.ci/install.d/30-nginx.sh``)
and runs as one process with its config, pid file, logs and temp folders in
a private directory::

    with nginx_server(root) as base_url:       # serves the files under root
        storage = http_storage(f"{base_url}/repo")

    with redirect_server() as redirects:       # answers 302s
        redirects.add("/r/repo", "s3://bucket/prefix?region=us-east-1")
        storage = redirect_storage(f"{redirects.url}/r/repo")

:func:`webdav_server` serves a folder with WsgiDAV (PyPI ``wsgidav`` and
``cheroot``), a real WebDAV server, for the listing (``PROPFIND``) tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["AUTH_TOKEN", "RedirectServer", "find_nginx", "free_port", "nginx_server",
           "redirect_server", "webdav_server"]

#: the bearer token nginx's ``/auth/`` location wants (a test value, not a secret)
AUTH_TOKEN = "sesame-0123456789"

_NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/logs/access.log;
    client_body_temp_path {tmp}/temp/client_body;
    proxy_temp_path {tmp}/temp/proxy;
    fastcgi_temp_path {tmp}/temp/fastcgi;
    uwsgi_temp_path {tmp}/temp/uwsgi;
    scgi_temp_path {tmp}/temp/scgi;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    sendfile off;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /private/ {{ return 403; }}
        location /broken/ {{ return 500; }}
        location /auth/ {{
            if ($http_authorization != "Bearer {token}") {{ return 401; }}
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    """The nginx binary (PATH, then ``/usr/sbin/nginx``), or ``None``."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}: "
                               f"{log.read_text(errors='replace') if log.exists() else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError("nginx did not start listening within 10 s")


@contextlib.contextmanager
def nginx_server(root: str | os.PathLike[str], port: int | None = None) -> Iterator[str]:
    """Serve ``root`` with nginx on 127.0.0.1; yields ``http://127.0.0.1:PORT``.

    ``/private/...`` answers 403, ``/broken/...`` answers 500, and ``/auth/...``
    answers 401 unless ``Authorization: Bearer {AUTH_TOKEN}`` is sent.
    The process is stopped (by its id) when the context exits.
    """
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    tmp = Path(tempfile.mkdtemp(prefix="frazil-nginx-"))
    for sub in ("logs", "temp"):  # nginx creates only the last folder of a temp path
        (tmp / sub).mkdir()
    port = port or free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(user=user, tmp=tmp, port=port, token=AUTH_TOKEN,
                                       root=Path(root).resolve()))
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(conf), "-e",
                             str(tmp / "logs" / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, tmp / "logs" / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


class RedirectServer:
    """A threaded HTTP server on 127.0.0.1 answering GETs from a redirect table.

    ``add(path, location, status=302)``: a GET of ``path`` answers ``status``
    with ``Location: location``; any other path answers 404. ``hits`` counts
    the GETs per path.
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str | None]] = {}
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] = owner.hits.get(path, 0) + 1
                status, location = owner.routes.get(path, (404, None))
                self.send_response(status)
                if location is not None:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="frazil-redirect-server")

    def add(self, path: str, location: str | None, status: int = 302) -> str:
        """Route ``path``; returns its full URL."""
        self.routes[path] = (status, location)
        return self.url + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def redirect_server() -> Iterator[RedirectServer]:
    """A started :class:`RedirectServer`, stopped when the context exits."""
    server = RedirectServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def webdav_server(root: str | os.PathLike[str]) -> Iterator[str]:
    """Serve ``root`` read-only over WebDAV (WsgiDAV on cheroot, in this process).

    Yields ``http://127.0.0.1:PORT``; anonymous access; stopped when the context exits.
    """
    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    app = WsgiDAVApp({
        "provider_mapping": {"/": {"root": str(Path(root).resolve()), "readonly": True}},
        "simple_dc": {"user_mapping": {"*": True}},
        "verbose": 1, "logging": {"enable_loggers": []}, "dir_browser": {"enable": False},
    })
    server = wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True, name="frazil-webdav")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(5)
