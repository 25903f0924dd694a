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


class _NamePlugin:
    @hookimpl
    def frazil_register_names(self, registry):
        registry.add("hooked_storage", InMemoryStorage, distribution="frazil-hooked")
        registry.add("HookedSolver", _Solver, module="frazil.conflicts")


def test_frazil_register_names_hook():
    p = new_plugins(autoload=False, plugins=[("names", _NamePlugin())])
    assert p.public_name("frazil", "hooked_storage") is InMemoryStorage
    assert p.public_name("frazil.conflicts", "HookedSolver") is _Solver
    with pytest.raises(PluginNotFoundError):
        p.public_name("frazil", "HookedSolver")  # registered for frazil.conflicts only
    assert all(r.kind != "name" for r in p.list_plugins())  # names are not plugins


def test_names_reach_the_frazil_namespace(frazil_fresh_plugins):
    import frazil

    frazil_fresh_plugins.register(_NamePlugin(), name="names")
    assert frazil.hooked_storage is InMemoryStorage
    assert frazil.conflicts.HookedSolver is _Solver
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        frazil.not_a_name  # noqa: B018


def test_name_registry_refuses_other_modules():
    class Bad:
        @hookimpl
        def frazil_register_names(self, registry):
            registry.add("x", object(), module="frazil.storage")

    with pytest.raises(ValueError, match="frazil.storage"):
        new_plugins(autoload=False, plugins=[("bad", Bad())]).public_name("frazil", "x")


def test_hooks_run_through_pluggy_so_wrappers_see_them():
    """Hook calls go through pluggy's caller: a hook wrapper observes every call."""
    seen = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def frazil_register_storage(self, registry):
            seen.append("before")
            result = yield
            seen.append(sorted(p.name for p in registry))
            return result

    p = new_plugins(autoload=False, plugins=[("hooked", _Plugin()), ("wrapper", Wrapper())])
    assert p.storage_factory("hooked") is InMemoryStorage
    assert seen[0] == "before" and "hooked" in seen[1]
    row = next(r for r in p.list_plugins() if r.name == "hooked")
    assert row.distribution == "frazil-hooked"


def test_registrations_learn_their_distribution_through_the_hook_caller():
    """Through pluggy's caller, each add() still learns which plugin's implementation made it."""
    class A:
        @hookimpl
        def frazil_register_conflict_solvers(self, registry):
            registry.add("from-a", _Solver)

    class B:
        @hookimpl
        def frazil_register_conflict_solvers(self, registry):
            registry.add("from-b", _Solver)

    p = new_plugins(autoload=False)
    p.register(A(), name="a", distribution="dist-a")
    p.register(B(), name="b", distribution="dist-b")
    rows = {r.name: r.distribution for r in p.list_plugins() if r.kind == "conflict solver"}
    assert rows["from-a"] == "dist-a" and rows["from-b"] == "dist-b"
