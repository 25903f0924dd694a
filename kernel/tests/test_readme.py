"""The Python example of kernel/README.md runs as written (on a temporary path)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_kernel_readme_example_runs(tmp_path):
    text = README.read_text()
    code = text.split("```python")[1].split("```")[0]
    assert "/tmp/demo-repo" in code
    code = code.replace("/tmp/demo-repo", str(tmp_path / "demo-repo"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    assert out.getvalue().strip() == "['four numbers', 'Repository initialized']"
    import icechunk  # the oracle reads what the example wrote

    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "demo-repo")))
    assert sorted(repo.list_branches()) == ["dev", "main"]
