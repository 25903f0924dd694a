"""One test per hookspec: an in-process plugin implementing it is found by lookup."""

from __future__ import annotations

import pytest

from frazil.plugins import PluginNotFoundError, hookimpl, new_plugins
from frazil.storage import InMemoryStorage


class _Resolver:
    def __init__(self, container, credentials=None):
        self.container = container


class _Solver:
    def solve(self, step):
        return list(step.conflicts)


class _Plugin:
    @hookimpl
    def frazil_register_storage(self, registry):
        registry.add("hooked", InMemoryStorage, url_schemes=("hooked",),
                     from_url=lambda url, **o: InMemoryStorage(**o), distribution="frazil-hooked")

    @hookimpl
    def frazil_register_virtual_chunk_resolvers(self, registry):
        registry.add("hooked-resolver", _Resolver, url_schemes=("hooked",))

    @hookimpl
    def frazil_register_conflict_solvers(self, registry):
        registry.add("hooked-solver", _Solver)


def _plugins():
    return new_plugins(autoload=False, plugins=[("hooked", _Plugin())])


def test_frazil_register_storage_hook():
    p = _plugins()
    assert p.storage_factory("hooked") is InMemoryStorage
    assert isinstance(p.storage_for_scheme("hooked")("hooked://x"), InMemoryStorage)
    row = next(r for r in p.list_plugins() if r.name == "hooked")
    assert (row.kind, row.distribution) == ("storage", "frazil-hooked")
    with pytest.raises(PluginNotFoundError):
        new_plugins(autoload=False).storage_for_scheme("hooked")


def test_frazil_register_virtual_chunk_resolvers_hook():
    p = _plugins()
    assert p.resolver_for_scheme("HOOKED") is _Resolver
    assert p.resolver("hooked-resolver")("hooked://bucket/").container == "hooked://bucket/"


def test_frazil_register_conflict_solvers_hook():
    p = _plugins()
    assert p.conflict_solver("hooked-solver") is _Solver
    with pytest.raises(PluginNotFoundError, match="hooked-missing"):
        p.conflict_solver("hooked-missing")


def test_pytest_plugin_fixture(frazil_fresh_plugins):
    """The ``frazil-testing`` pytest11 plugin gives a freshly built global facade."""
    from frazil.plugins import get_plugins

    assert frazil_fresh_plugins is get_plugins()
    assert frazil_fresh_plugins.split_policy("config").__name__ == "ConfigSplitPolicy"
