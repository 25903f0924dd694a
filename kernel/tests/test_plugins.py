"""The plugin kernel: hookspecs, registries, lookups, install hints, autoload."""

from __future__ import annotations

import importlib.metadata
import inspect
import sys
import types
from collections.abc import Iterator

import pluggy
import pytest
from frazil.plugins import (
    AUTOLOAD_ENV,
    BLOCKED_ENV,
    PluginConflictError,
    PluginInfo,
    PluginNotFoundError,
    StorageRegistry,
    hookimpl,
    hookspecs,
    manager,
    new_plugins,
)
from frazil.storage import InMemoryStorage, LocalFileSystemStorage, Storage


def make_plugin(name: str = "fake") -> types.ModuleType:
    """A plugin module providing one thing of every kind."""
    mod = types.ModuleType(f"frazil_{name}_plugin")

    @hookimpl
    def frazil_register_storage(registry: StorageRegistry) -> None:
        registry.add(name, InMemoryStorage, url_schemes=(f"{name}",),
                     from_url=lambda url, **o: InMemoryStorage(**o))

    @hookimpl
    def frazil_register_virtual_chunk_resolvers(registry):  # type: ignore[no-untyped-def]
        registry.add(f"{name}-resolver", dict, url_schemes=(f"{name}",))

    @hookimpl
    def frazil_register_conflict_solvers(registry):  # type: ignore[no-untyped-def]
        registry.add(f"{name}-solver", list)

    @hookimpl
    def frazil_register_manifest_split_policies(registry):  # type: ignore[no-untyped-def]
        registry.add(f"{name}-split", tuple)

    for fn in (frazil_register_storage, frazil_register_virtual_chunk_resolvers,
               frazil_register_conflict_solvers, frazil_register_manifest_split_policies):
        setattr(mod, fn.__name__, fn)
    return mod


class FakeDist:
    name = "frazil-fake"
    version = "9.9"


@pytest.fixture
def fake_entry_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Expose ``make_plugin('ep')`` as entry point ``frazil-fake`` of group frazil.storage."""
    sys.modules["frazil_ep_plugin_mod"] = make_plugin("ep")
    ep = importlib.metadata.EntryPoint("frazil-fake", "frazil_ep_plugin_mod", "frazil.storage")
    ep = ep._for(FakeDist())  # type: ignore[attr-defined]

    def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        return [ep] if group == "frazil.storage" else []

    monkeypatch.setattr(manager, "_entry_points", entry_points)
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(BLOCKED_ENV, raising=False)
    yield
    del sys.modules["frazil_ep_plugin_mod"]


# -- the extension surface ------------------------------------------------------------


def test_every_hook_is_documented_and_takes_a_registry() -> None:
    hooks = [n for n, f in vars(hookspecs).items()
             if n.startswith("frazil_") and inspect.isfunction(f)]
    assert sorted(hooks) == sorted(manager._HOOKS.values())
    for name in hooks:
        fn = getattr(hookspecs, name)
        assert list(inspect.signature(fn).parameters) == ["registry"]
        assert fn.__doc__ and ":param registry:" in fn.__doc__
        assert "Called once per plugin manager" in fn.__doc__


def test_builtins_are_plugins() -> None:
    plugins = new_plugins(autoload=False)
    assert plugins.storage_factory("in_memory")().__class__ is InMemoryStorage
    assert plugins.storage_factory("local_filesystem")("/tmp/x").__class__ is LocalFileSystemStorage
    assert isinstance(plugins.storage_for_scheme("memory")("memory://"), Storage)
    opened = plugins.storage_for_scheme("FILE://")("file:///tmp/x")
    assert isinstance(opened, LocalFileSystemStorage)
    rows = plugins.list_plugins()
    assert PluginInfo("storage", "in_memory", "frazil", rows[0].version) in rows
    assert all(isinstance(r, tuple) and len(r) == 5 and r.conflict == "" for r in rows)
    assert plugins.manager.has_plugin("frazil-builtin")


# -- lookup failures teach ---------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "dist"), [
    ("s3", "frazil-s3"), ("s3a", "frazil-s3"), ("gs", "frazil-gcs"), ("gcs", "frazil-gcs"),
    ("az", "frazil-azure"), ("abfs", "frazil-azure"), ("azure", "frazil-azure"),
    ("http", "frazil-http"), ("https", "frazil-http"),
])
def test_missing_scheme_names_distribution(scheme: str, dist: str) -> None:
    plugins = new_plugins(autoload=False)
    with pytest.raises(PluginNotFoundError) as info:
        plugins.storage_for_scheme(scheme)
    assert str(info.value) == f"no storage for '{scheme}://': pip install {dist}"
    assert info.value.kind == "plugin-not-found"
    assert isinstance(info.value, ValueError)
    with pytest.raises(PluginNotFoundError, match=f"pip install {dist}"):
        plugins.resolver_for_scheme(scheme)


def test_missing_names() -> None:
    plugins = new_plugins(autoload=False)
    with pytest.raises(PluginNotFoundError, match="pip install frazil-conflict-solvers"):
        plugins.conflict_solver("basic")
    with pytest.raises(PluginNotFoundError, match="no storage named 's3': pip install frazil-s3"):
        plugins.storage_factory("s3")
    with pytest.raises(PluginNotFoundError, match="no known distribution"):
        plugins.split_policy("weird")
    with pytest.raises(PluginNotFoundError, match="no known distribution"):
        plugins.resolver("weird")


# -- in-process registration --------------------------------------------------------------


def test_fresh_manager_with_in_process_plugin() -> None:
    plugins = new_plugins(autoload=False, plugins=[("fake", make_plugin())])
    assert plugins.storage_factory("fake") is InMemoryStorage
    assert isinstance(plugins.storage_for_scheme("fake")("fake://x"), InMemoryStorage)
    assert plugins.resolver_for_scheme("fake") is dict
    assert plugins.resolver("fake-resolver") is dict
    assert plugins.conflict_solver("fake-solver") is list
    assert plugins.split_policy("fake-split") is tuple
    kinds = {(r.kind, r.name) for r in plugins.list_plugins()}
    assert {("storage", "fake"), ("virtual chunk resolver", "fake-resolver"),
            ("conflict solver", "fake-solver"), ("manifest split policy", "fake-split")} <= kinds
    # Other managers are unaffected.
    with pytest.raises(PluginNotFoundError):
        new_plugins(autoload=False).storage_factory("fake")


def test_register_and_unregister_refresh_lookups() -> None:
    plugins = new_plugins(autoload=False)
    with pytest.raises(PluginNotFoundError):
        plugins.conflict_solver("late-solver")
    plugins.register(make_plugin("late"), name="late", distribution="frazil-late")
    try:
        assert plugins.conflict_solver("late-solver") is list
        row = next(r for r in plugins.list_plugins() if r.name == "late-solver")
        assert row.distribution == "frazil-late"
    finally:
        plugins.unregister("late")
    with pytest.raises(PluginNotFoundError):
        plugins.conflict_solver("late-solver")


def test_duplicate_scheme_breaks_only_that_scheme() -> None:
    clash = types.ModuleType("clash")

    @hookimpl
    def frazil_register_storage(registry: StorageRegistry) -> None:
        registry.add("my-file", LocalFileSystemStorage, url_schemes=("file", "myfile"))

    clash.frazil_register_storage = frazil_register_storage  # type: ignore[attr-defined]
    plugins = new_plugins(autoload=False, plugins=[("clash", clash)])
    with pytest.raises(PluginConflictError, match="scheme 'file://' registered 2 times"):
        plugins.storage_for_scheme("file")
    # the clash breaks 'file://' only: the rest of both plugins still works
    assert plugins.storage_for_scheme("memory") is not None
    assert plugins.storage_factory("my-file") is LocalFileSystemStorage
    assert plugins.storage_for_scheme("myfile") is LocalFileSystemStorage
    rows = [r for r in plugins.list_plugins() if r.kind == "storage"]
    flagged = [r for r in rows if "scheme 'file://'" in r.conflict]
    assert {r.name for r in flagged} == {"my-file", "local_filesystem"}
    assert all(not r.conflict for r in rows if r.name not in {"my-file", "local_filesystem"})


def test_duplicate_name_from_two_entry_points_is_reported_by_the_cli(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from frazil import cli
    from frazil.plugins import reset_plugins

    sys.modules["frazil_ep_a"] = make_plugin("twin")
    sys.modules["frazil_ep_b"] = make_plugin("twin")
    eps = [importlib.metadata.EntryPoint(n, m, "frazil.storage")._for(FakeDist())  # type: ignore[attr-defined]
           for n, m in (("frazil-a", "frazil_ep_a"), ("frazil-b", "frazil_ep_b"))]
    monkeypatch.setattr(manager, "_entry_points",
                        lambda group: eps if group == "frazil.storage" else [])
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(BLOCKED_ENV, raising=False)
    reset_plugins()
    try:
        assert cli.main(["plugins"]) == 0  # reports instead of crashing
        out = capsys.readouterr().out
        twin_rows = [line for line in out.splitlines() if "  twin " in line]
        assert len(twin_rows) == 2 and all("CONFLICT: name 'twin'" in r for r in twin_rows)
        local = [line for line in out.splitlines() if "  local_filesystem " in line]
        assert local and "CONFLICT" not in local[0]
        plugins = manager.get_plugins()
        with pytest.raises(PluginConflictError, match="name 'twin' registered 2 times"):
            plugins.storage_factory("twin")
        local_factory = plugins.storage_factory("local_filesystem")
        assert isinstance(local_factory("/tmp/x"), LocalFileSystemStorage)
    finally:
        reset_plugins()
        del sys.modules["frazil_ep_a"], sys.modules["frazil_ep_b"]


def test_unknown_hook_fails_check_pending() -> None:
    bad = types.ModuleType("bad")

    @hookimpl
    def frazil_register_teleporter(registry: object) -> None: ...

    bad.frazil_register_teleporter = frazil_register_teleporter  # type: ignore[attr-defined]
    with pytest.raises(pluggy.PluginValidationError):
        new_plugins(autoload=False, plugins=[("bad", bad)]).manager


# -- entry points ---------------------------------------------------------------------------


def test_entry_points_load_lazily_with_distribution(fake_entry_point: None) -> None:
    plugins = new_plugins()
    assert plugins._pm is None  # nothing loaded before the first lookup
    assert plugins.storage_factory("ep") is InMemoryStorage
    row = next(r for r in plugins.list_plugins() if r.name == "ep")
    assert (row.distribution, row.version) == ("frazil-fake", "9.9")


def test_autoload_env_switch(fake_entry_point: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    plugins = new_plugins()
    with pytest.raises(PluginNotFoundError):
        plugins.storage_factory("ep")
    assert plugins.storage_factory("in_memory") is not None  # built-ins still there


def test_blocked_env(fake_entry_point: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCKED_ENV, "something-else, frazil-fake")
    with pytest.raises(PluginNotFoundError):
        new_plugins().storage_factory("ep")
    assert new_plugins(blocked=()).storage_factory("ep") is InMemoryStorage


def test_broken_entry_point_is_skipped_with_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = importlib.metadata.EntryPoint("broken", "frazil_no_such_module_xyz", "frazil.storage")
    monkeypatch.setattr(manager, "_entry_points",
                        lambda group: [ep] if group == "frazil.storage" else [])
    plugins = new_plugins(autoload=True, blocked=())
    with pytest.warns(RuntimeWarning, match="skipping plugin 'broken'"):
        assert plugins.storage_factory("in_memory") is not None


def test_real_entry_point_of_the_kernel() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="frazil.storage")}
    assert eps.get("frazil-builtin") == "frazil.storage._builtin"


def test_global_facade(monkeypatch: pytest.MonkeyPatch) -> None:
    manager.reset_plugins()
    try:
        assert manager.get_plugins() is manager.get_plugins()
    finally:
        manager.reset_plugins()
