"""Helpers shared by the top-level tests (a uniquely named module, not conftest,
because several distributions have a ``conftest.py`` and ``import conftest``
would be ambiguous)."""

from __future__ import annotations

import importlib
import os
import types

#: The two implementations under comparison; "icechunk" is the oracle.
LIBRARIES = ("icechunk", "frazil")


def load_lib(name: str) -> types.ModuleType:
    """Import ``icechunk`` or ``frazil`` by name (no skipping: a broken import fails the test)."""
    if name not in LIBRARIES:
        raise ValueError(f"unknown library {name!r}")
    mod = importlib.import_module(name)
    if name == "icechunk" and hasattr(mod, "set_logs_filter"):
        # icechunk logs harmless WARN lines on local storage; keep test output readable
        try:
            mod.set_logs_filter(os.environ.get("FRAZIL_TEST_ICECHUNK_LOG", "error"))
        except Exception:  # pragma: no cover - logging is cosmetic
            pass
    return mod
