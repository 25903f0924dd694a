"""Distributions install as a new user installs them: the kernel first, then a backend."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_backend_installs_into_an_empty_environment_after_the_kernel(tmp_path):
    """``pip install ./storage-s3`` must not pull an unrelated ``frazil`` from PyPI."""
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(ROOT / "kernel")], check=True, timeout=600)
    subprocess.run([*pip, str(ROOT / "storage-s3")], check=True, timeout=600)
    out = subprocess.run(
        [str(py), "-c", "import frazil, frazil_s3, importlib.metadata as m; "
         "print(frazil.__version__, frazil.s3_storage is frazil_s3.s3_storage, "
         "sorted(d.metadata['Name'] for d in m.distributions() "
         "if d.metadata['Name'].startswith(('frazil', 'floe'))))"],
        check=True, capture_output=True, text=True, timeout=120).stdout.split(maxsplit=2)
    assert out[0].startswith("2.") and int(out[0].split(".")[0]) >= 2
    assert out[1] == "True"
    assert out[2].strip() == "['frazil', 'frazil-s3']"
    assert sys.version_info >= (3, 12)
