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
