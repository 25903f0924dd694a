from __future__ import annotations

import subprocess
import sys

import pytest
from frazil.cli import main


def test_plugins_lists_builtin_storage(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "in_memory" in out and "local_filesystem" in out
    assert "frazil" in out  # the distribution that provides them


def test_version_and_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "frazil" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code != 0


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "frazil.cli", "plugins"], capture_output=True,
                         text=True, check=True).stdout
    assert "local_filesystem" in out
