"""pytest plugin (``pytest11`` entry point ``floe-testing``): fixtures for plugin authors.

Imports nothing from floe at collection time, so unrelated pytest runs stay
as fast as before. The conformance suites themselves are base classes: import
them (``from floe.testing import StorageTests``) and subclass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def floe_fresh_plugins() -> Iterator[Any]:
    """The process-wide plugin facade, rebuilt before and after the test.

    Use it after installing or uninstalling a distribution, or to see the
    effect of ``FLOE_BLOCKED_PLUGINS`` / ``FLOE_DISABLE_PLUGIN_AUTOLOAD``
    set with ``monkeypatch`` before requesting the fixture.
    """
    import importlib

    from floe.plugins import get_plugins, reset_plugins

    importlib.invalidate_caches()
    reset_plugins()
    try:
        yield get_plugins()
    finally:
        reset_plugins()
