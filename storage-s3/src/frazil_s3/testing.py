"""Helpers for tests against a real S3 API: moto's server on 127.0.0.1, and
:class:`FaultFront`, a real HTTP server in front of it that fails requests on
demand (error statuses, connection resets, lost responses, delays).

Used by frazil-s3's own tests and by frazil's cross-distribution tests; needs
``moto[server]`` (a test dependency, imported only when a server starts).
"""

from __future__ import annotations

import logging
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault", "FaultFront", "Seen", "create_bucket", "moto_server", "reset",
           "self_signed_cert", "storage_kwargs"]


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto on a free loopback port; yields its endpoint URL, stops it after."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    """Wipe every bucket of the moto server."""
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req).read()


def create_bucket(endpoint: str, prefix: str = "frazil") -> str:
    import boto3

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=name)
    return name


def storage_kwargs(endpoint: str, bucket: str) -> dict[str, Any]:
    """``s3_storage`` keyword arguments (frazil's and icechunk's) for ``bucket``."""
    return dict(bucket=bucket, endpoint_url=endpoint, allow_http=True, force_path_style=True,
                access_key_id="x", secret_access_key="x", region="us-east-1")



def iam_user_kwargs(endpoint: str, kwargs: dict[str, Any], name: str) -> dict[str, Any]:
    """``kwargs`` with the keys of a new moto IAM user ``name`` allowed ``s3:*``: real
    credentials, for tests that let moto check signatures."""
    import json

    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return dict(kwargs, access_key_id=key["AccessKeyId"],
                secret_access_key=key["SecretAccessKey"])

# -- network faults in front of a real endpoint --------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request as the fault front received it."""

    method: str
    path: str  # URL path and query, as sent
    headers: dict[str, str]


@dataclass(frozen=True)
class Fault:
    """What the front does with a request instead of passing it on unchanged.

    Build one with :meth:`status`, :meth:`reset`, :meth:`lose_response` or
    :meth:`delay`.
    """

    kind: str
    status_code: int = 0
    code: str = ""
    seconds: float = 0.0

    @classmethod
    def status(cls, status: int, code: str | None = None) -> Fault:
        """Answer ``status`` with an S3 XML error body; the request never reaches S3."""
        default = {403: "AccessDenied", 404: "NoSuchKey", 412: "PreconditionFailed",
                   429: "SlowDown", 500: "InternalError", 503: "ServiceUnavailable"}
        return cls("status", status, code or default.get(status, "InjectedError"))

    @classmethod
    def reset(cls) -> Fault:
        """Reset the TCP connection (RST) without passing the request on."""
        return cls("reset")

    @classmethod
    def lose_response(cls) -> Fault:
        """Pass the request on (it takes effect), then reset the connection unanswered."""
        return cls("lose_response")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before passing the request on."""
        return cls("delay", seconds=seconds)


Rule = Callable[[Seen], "Fault | None"]


class FaultFront:
    """A real HTTP/1.1 server that relays requests to an S3 endpoint, or fails them.

    Clients point their ``endpoint_url`` at :attr:`endpoint`. Every request
    is recorded in :attr:`seen`; ``rule(request)`` (settable at any time)
    decides what happens to it: ``None`` relays it unchanged (signatures stay
    valid: the ``Host`` header is passed on as sent), a :class:`Fault` fails
    it at the HTTP or TCP level. Nothing in the client is patched: boto3 and
    frazil's plain route see a real server misbehave.

    ``tls=(certfile, keyfile)`` serves HTTPS (see :func:`self_signed_cert`).
    ``path_prefix="/ns"`` plays a gateway serving the S3 API under a path, as
    Hugging Face's does under ``/<namespace>``: the prefix is removed from each
    request path before relaying (moto does not check signatures), and requests
    outside it answer 404. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, upstream: str, rule: Rule | None = None, *,
                 tls: tuple[str, str] | None = None, path_prefix: str = "") -> None:
        import http.client
        import http.server
        import socket
        import struct
        import threading
        from urllib.parse import urlsplit

        up = urlsplit(upstream)
        self.rule: Rule | None = rule
        self.seen: list[Seen] = []
        #: most requests ever in progress at once (see :meth:`reset_peak`)
        self.peak = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _abort(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _handle(self) -> None:
                with front._count_lock:
                    front._in_flight += 1
                    front.peak = max(front.peak, front._in_flight)
                try:
                    self._relay()
                finally:
                    with front._count_lock:
                        front._in_flight -= 1

            def _relay(self) -> None:
                body = self._body()
                seen = Seen(self.command, self.path, dict(self.headers.items()))
                front.seen.append(seen)
                rule = front.rule
                fault = rule(seen) if rule is not None else None
                if fault is not None and fault.kind == "reset":
                    self._abort()
                    return
                if fault is not None and fault.kind == "status":
                    payload = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                               f"{fault.code}</Code><Message>injected by FaultFront</Message>"
                               f"</Error>").encode()
                    self.send_response(fault.status_code)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(0 if self.command == "HEAD"
                                                           else len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                if fault is not None and fault.kind == "delay":
                    time.sleep(fault.seconds)
                path = self.path
                if path_prefix:
                    if not path.startswith(path_prefix + "/"):
                        self.send_response(404)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    path = path[len(path_prefix):]
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("expect", "transfer-encoding", "connection")}
                headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=60)
                try:
                    conn.request(self.command, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                if fault is not None and fault.kind == "lose_response":
                    self._abort()
                    return
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                         "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(resp.getheader("Content-Length", 0)
                                                       if self.command == "HEAD" else len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.endpoint = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="frazil-fault-front", daemon=True)
        self._thread.start()

    def reset_peak(self) -> None:
        """Start counting :attr:`peak` afresh."""
        with self._count_lock:
            self.peak = self._in_flight

    def requests(self, method: str | None = None, contains: str = "") -> list[Seen]:
        """Recorded requests, optionally of ``method`` only and with ``contains`` in the path."""
        return [s for s in self.seen
                if (method is None or s.method == method) and contains in s.path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultFront:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def self_signed_cert(directory: str) -> tuple[str, str]:
    """A certificate for ``127.0.0.1`` and ``localhost`` and its key, as PEM files in
    ``directory``: ``(certfile, keyfile)``. The certificate is its own CA (trust
    it with ``AWS_CA_BUNDLE=certfile``). Needs ``cryptography`` (a moto dependency).
    """
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frazil test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(certfile, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return certfile, keyfile
