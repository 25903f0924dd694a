"""Helpers for tests against a real Azure Blob API: Azurite on 127.0.0.1.

Used by frazil-azure's own tests and by frazil's cross-distribution tests.
Azurite comes from npm (``.ci/install.d/20-azurite.sh`` installs it into
``.ci/.cache/azurite``); :func:`find_azurite` looks there, in
``FRAZIL_AZURITE_BIN`` and on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from frazil_azure._config import EMULATOR_ACCOUNT, EMULATOR_KEY

__all__ = ["ACCOUNT", "KEY", "azurite_server", "create_container", "find_azurite",
           "storage_kwargs"]

ACCOUNT = EMULATOR_ACCOUNT
KEY = EMULATOR_KEY
_LISTENING = re.compile(r"successfully listens on http://127\.0\.0\.1:(\d+)")


def find_azurite() -> str | None:
    """The ``azurite-blob`` executable, or ``None`` if it is not installed."""
    given = os.environ.get("FRAZIL_AZURITE_BIN")
    if given and os.access(given, os.X_OK):
        return given
    here = Path(__file__).resolve()
    for parent in (*here.parents, Path.cwd(), *Path.cwd().parents):
        cand = parent / ".ci" / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
        if cand.exists():
            return str(cand)
    return shutil.which("azurite-blob")


@contextmanager
def azurite_server(timeout_s: float = 30.0) -> Iterator[str]:
    """Run Azurite's blob service in memory on a free loopback port.

    Yields the account endpoint (``http://127.0.0.1:PORT/devstoreaccount1``);
    the process is stopped by its id afterwards.
    """
    exe = find_azurite()
    if exe is None:
        raise RuntimeError("azurite-blob not found: run .ci/install.d/20-azurite.sh "
                           "(npm install azurite@3.35) or set FRAZIL_AZURITE_BIN")
    workdir = tempfile.mkdtemp(prefix="frazil-azurite-")
    log_path = Path(workdir) / "azurite.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [exe, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
             "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
            cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        port = None
        while port is None:
            m = _LISTENING.search(log_path.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Azurite did not start: {log_path.read_text()[-2000:]}")
            else:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: node and its children
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def container_client(endpoint: str, container: str) -> Any:
    from azure.storage.blob import ContainerClient

    return ContainerClient(endpoint, container,
                           credential={"account_name": ACCOUNT, "account_key": KEY})


def create_container(endpoint: str, prefix: str = "frazil") -> str:
    """A new, empty container with a unique name."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    container_client(endpoint, name).create_container()
    return name


def storage_kwargs(endpoint: str, container: str) -> dict[str, Any]:
    """``azure_storage`` keyword arguments (frazil's and icechunk's) for ``container``."""
    return {"account": ACCOUNT, "container": container, "access_key": KEY,
                "config": {"endpoint": endpoint, "allow_http": "true"}}
