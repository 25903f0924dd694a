"""pytest plugin (``pytest11`` entry point ``frazil-testing``): fixtures for plugin authors.

Imports nothing from frazil at collection time, so unrelated pytest runs stay
as fast as before. The conformance suites themselves are base classes: import
them (``from frazil.testing import StorageTests``) and subclass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def frazil_fresh_plugins() -> Iterator[Any]:
    """The process-wide plugin facade, rebuilt before and after the test.

    Use it after installing or uninstalling a distribution, or to see the
    effect of ``FRAZIL_BLOCKED_PLUGINS`` / ``FRAZIL_DISABLE_PLUGIN_AUTOLOAD``
    set with ``monkeypatch`` before requesting the fixture.
    """
    # lazy: pytest loads this plugin in every run of the environment, frazil's or not
    import importlib

    from frazil.plugins import get_plugins, reset_plugins

    importlib.invalidate_caches()
    reset_plugins()
    try:
        yield get_plugins()
    finally:
        reset_plugins()


@pytest.fixture(scope="session")
def toxiproxy_server() -> Iterator[Any]:
    """A toxiproxy server for the whole session, stopped at its end.

    A real ``toxiproxy-server`` from ``PATH`` if there is one, else frazil's
    in-process server (:mod:`frazil.testing.toxiproxy`). Yields its
    :class:`~frazil.testing.toxiproxy.ToxiproxyHandle`; call
    ``handle.configure_client()`` to point the ``toxiproxy-python`` client at it.
    """
    from frazil.testing.toxiproxy import start_toxiproxy  # lazy: as above

    handle = start_toxiproxy()
    try:
        yield handle
    finally:
        handle.stop()
