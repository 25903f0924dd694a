"""A real nginx serving a temporary folder, and a redirect server, for the whole session."""

from __future__ import annotations

import pytest
from frazil_http.testing import find_nginx, nginx_server, redirect_server


@pytest.fixture(scope="session")
def http_root(tmp_path_factory):
    """The folder nginx serves (tests write files into their own subfolders)."""
    return tmp_path_factory.mktemp("www")


@pytest.fixture(scope="session")
def nginx_url(http_root):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (.ci/install.d/30-nginx.sh installs nginx-light)")
    with nginx_server(http_root) as url:
        yield url


@pytest.fixture(scope="session")
def redirects():
    with redirect_server() as server:
        yield server


@pytest.fixture
def served(http_root, nginx_url, request):
    """``(folder, url)``: a fresh folder under the nginx root and its URL."""
    name = request.node.name.replace("[", "_").replace("]", "_")
    folder = http_root / name
    folder.mkdir()
    return folder, f"{nginx_url}/{name}"
