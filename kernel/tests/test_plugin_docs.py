"""Every hookspec is documented in docs/plugins.md with its exact signature and has a test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from frazil.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
TEST_DIRS = [ROOT / "kernel" / "tests", ROOT / "tests", *sorted((ROOT / "plugins").glob("*/tests")),
             ROOT / "conflict-solvers" / "tests"]
HOOKS = sorted(n for n, f in vars(hookspecs).items()
               if n.startswith("frazil_") and callable(f) and hasattr(f, "frazil_spec"))


def signature_of(name: str) -> str:
    """``def name(param: Annotation, ...) -> Return``, as written in hookspecs.py."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def test_there_are_five_hooks():
    assert HOOKS == ["frazil_register_conflict_solvers", "frazil_register_manifest_split_policies",
                     "frazil_register_names", "frazil_register_storage",
                     "frazil_register_virtual_chunk_resolvers"]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_documented_with_exact_signature(hook):
    text = DOCS.read_text()
    assert signature_of(hook) in text, f"docs/plugins.md lacks `{signature_of(hook)}`"
    assert text.count(hook) >= 2  # the table and its own section


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_its_own_test(hook):
    pattern = re.compile(rf"def test_{hook}\w*\(")
    found = [p for d in TEST_DIRS if d.is_dir() for p in d.rglob("test_*.py")
             if pattern.search(p.read_text())]
    assert found, f"no test function named test_{hook}* in the test folders"


STORAGE_COROUTINES = ["_get_object", "_get_object_versioned", "_put_object", "_put_object_if",
                      "_list_objects", "_delete_objects", "_object_size"]


@pytest.mark.parametrize("name", STORAGE_COROUTINES)
def test_storage_coroutine_documented_with_exact_signature(name):
    from frazil.storage import Storage

    fn = getattr(Storage, name)
    assert name in Storage.__abstractmethods__
    sig = inspect.signature(fn)
    params = ", ".join(["self"] + [f"{p.name}: {p.annotation}" for p in
                                   list(sig.parameters.values())[1:]])
    line = f"async def {name}({params}) -> {sig.return_annotation}"
    assert line in DOCS.read_text(), f"docs/plugins.md lacks `{line}`"


def test_storage_abstract_methods_are_exactly_the_documented_ones():
    from frazil.storage import Storage

    assert sorted(Storage.__abstractmethods__) == sorted(STORAGE_COROUTINES)


def test_version_token_and_object_info_fields_documented():
    import dataclasses

    from frazil.storage import ObjectInfo, VersionToken

    text = DOCS.read_text()
    assert [f.name for f in dataclasses.fields(VersionToken)] == ["value"]
    assert "`VersionToken(value: str)`" in text
    flat = " ".join(text.split())  # the docs wrap lines
    fields = ", ".join(f"{f.name}: {f.type}" for f in dataclasses.fields(ObjectInfo))
    assert f"`ObjectInfo({fields})`" in flat


def test_minimal_storage_example_keeps_state_across_storage_from_url(tmp_path, monkeypatch):
    """The docs' example plugin, run as written: create by URL, reopen by URL."""
    import sys
    import textwrap

    import frazil
    from frazil.plugins import new_plugins

    text = DOCS.read_text()
    section = text[text.index("## Storage backends"):text.index("## Virtual chunk resolvers")]
    code = section.split("`frazil_dictstore.py`:")[1].split("```python")[1].split("```")[0]
    module_path = tmp_path / "frazil_dictstore.py"
    module_path.write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(tmp_path))
    import frazil_dictstore  # type: ignore[import-not-found]

    plugins = new_plugins(autoload=False, plugins=[("frazil-dictstore", frazil_dictstore)])
    from_url = plugins.storage_for_scheme("dict")
    repo = frazil.Repository.create(from_url("dict://demo"))
    import zarr

    session = repo.writable_session("main")
    zarr.create_group(session.store, attributes={"kept": True})
    snap = session.commit("first")
    again = frazil.Repository.open(from_url("dict://demo"))
    assert [s.id for s in again.ancestry(branch="main")][0] == snap
    group = zarr.open_group(again.readonly_session("main").store, mode="r")
    assert group.attrs["kept"] is True
    with pytest.raises(frazil.IcechunkError):
        frazil.Repository.open(from_url("dict://other"))
    sys.modules.pop("frazil_dictstore", None)
