"""Fixtures of the top-level HTTP tests: nginx serving a temporary folder, a redirect server.

Both are session-scoped, bound to 127.0.0.1 and stopped at the end of the session.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def http_www(tmp_path_factory):
    """The folder nginx serves; tests put repositories and data files under it."""
    return tmp_path_factory.mktemp("http-www")


@pytest.fixture(scope="session")
def http_nginx_url(http_www):
    testing = pytest.importorskip("frazil_http.testing")
    if testing.find_nginx() is None:
        pytest.skip("nginx is not installed (.ci/install.d/30-nginx.sh installs nginx-light)")
    with testing.nginx_server(http_www) as url:
        yield url


@pytest.fixture(scope="session")
def http_redirects():
    testing = pytest.importorskip("frazil_http.testing")
    with testing.redirect_server() as server:
        yield server
