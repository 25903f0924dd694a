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


def test_progress_bars_draw_one_bar_per_phase(capsys):
    from frazil.cli import _Bars

    bars = _Bars(True)
    for done in range(0, 5):
        bars("scanning snapshots", done, 4)
    bars("deleting", 1, None)
    bars.close()
    err = capsys.readouterr().err
    assert "scanning snapshots" in err and "4/4" in err and "deleting" in err
    quiet = _Bars(False)
    quiet("x", 1, 2)
    quiet.close()
    assert capsys.readouterr().err == ""
