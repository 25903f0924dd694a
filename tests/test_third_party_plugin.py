"""A brand-new distribution, built on the fly, is found by frazil without code changes.

The test writes a tiny project (pyproject.toml + a module with a hookimpl and
a ``frazil.storage`` entry point), pip-installs it into this interpreter,
rebuilds the plugin manager and opens ``demo://`` storage with it; after
``pip uninstall`` the same URL gives the clear "install a plugin" error again.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import textwrap

import frazil
import pytest
from frazil.plugins import PluginNotFoundError, get_plugins, reset_plugins
from frazil.storage import InMemoryStorage, storage_from_url

DIST = "frazil-demo-storage-test"

PYPROJECT = f"""
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{DIST}"
version = "0.0.1"

[project.entry-points."frazil.storage"]
{DIST} = "frazil_demo_storage_test"

[tool.setuptools]
py-modules = ["frazil_demo_storage_test"]
"""

MODULE = '''
from frazil.plugins import hookimpl
from frazil.storage import InMemoryStorage


class DemoStorage(InMemoryStorage):
    """In-memory storage that remembers the URL it was opened with."""

    def __init__(self, url="demo://", **options):
        super().__init__(**options)
        self.url = url


@hookimpl
def frazil_register_storage(registry):
    registry.add("demo", DemoStorage, url_schemes=("demo",),
                 from_url=lambda url, **options: DemoStorage(url, **options))
'''


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=240)


def test_install_discover_use_uninstall(tmp_path):
    src = tmp_path / "dist"
    src.mkdir()
    (src / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (src / "frazil_demo_storage_test.py").write_text(MODULE)
    offline = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    try:
        _pip("install", "--no-deps", *offline, str(src))
    except subprocess.CalledProcessError as e:  # pragma: no cover - environment problem
        pytest.fail(f"pip install failed:\n{e.stderr}")
    try:
        importlib.invalidate_caches()
        reset_plugins()
        storage = storage_from_url("demo://bucket/prefix")
        assert type(storage).__name__ == "DemoStorage" and isinstance(storage, InMemoryStorage)
        assert storage.url == "demo://bucket/prefix"
        rows = [r for r in get_plugins().list_plugins() if r.name == "demo"]
        assert rows and rows[0].distribution == DIST and rows[0].version == "0.0.1"
        repo = frazil.Repository.create(storage)  # and it is a working repository storage
        assert repo.list_branches() == {"main"}
    finally:
        _pip("uninstall", "-y", DIST)
        sys.modules.pop("frazil_demo_storage_test", None)
        importlib.invalidate_caches()
        reset_plugins()
    with pytest.raises(PluginNotFoundError, match="demo://.*install a plugin"):
        storage_from_url("demo://bucket/prefix")
