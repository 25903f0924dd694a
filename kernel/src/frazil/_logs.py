"""Logging (icechunk's ``initialize_logs``/``set_logs_filter``), debug info and attribution.

frazil logs through the standard :mod:`logging` package under the ``frazil``
logger tree (``frazil.storage``, ``frazil.repository``...). Filters use the
directive syntax icechunk takes from ``ICECHUNK_LOG`` — ``"debug"``,
``"frazil=info,frazil.storage=debug"`` (``icechunk`` targets map to ``frazil``)
— read from ``FRAZIL_LOG`` (or ``ICECHUNK_LOG``) by :func:`initialize_logs`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import sys
from dataclasses import dataclass

from frazil._repr import text_forms
from frazil.errors import InvalidInputError

__all__ = ["Attribution", "initialize_logs", "print_debug_info", "set_logs_filter",
           "shutdown_telemetry", "user_agent"]

LOG_ENV = "FRAZIL_LOG"
_LEVELS = {"trace": 5, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 10}
_HANDLER_NAME = "frazil-default"


def _parse(directive: str) -> dict[str, int]:
    """``"info,frazil.storage=debug"`` -> ``{"frazil": INFO, "frazil.storage": DEBUG}``."""
    out: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in directive.split(","))):
        target, sep, level = item.rpartition("=") if "=" in item else ("", "", item)
        level_no = _LEVELS.get(level.strip().lower())
        if level_no is None:
            raise InvalidInputError(f"invalid log filter directive {item!r}: unknown level "
                                    f"{level!r} (use one of {', '.join(_LEVELS)})")
        name = target.strip() or "frazil"
        if name == "icechunk" or name.startswith("icechunk"):  # icechunk's targets
            name = "frazil" + name[len("icechunk"):].replace("::", ".")
        out[name] = level_no
    return out


def set_logs_filter(log_filter_directive: str | None) -> None:
    """Set the level of frazil's loggers from a directive (``None``: warnings only)."""
    levels = _parse(log_filter_directive or "warn")
    levels.setdefault("frazil", logging.WARNING)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def initialize_logs() -> None:
    """Log frazil's messages to stderr, filtered by ``FRAZIL_LOG`` (or ``ICECHUNK_LOG``).

    Adds one handler to the ``frazil`` logger (idempotent). Applications that
    configure :mod:`logging` themselves need not call it.
    """
    root = logging.getLogger("frazil")
    if not any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    set_logs_filter(os.environ.get(LOG_ENV) or os.environ.get("ICECHUNK_LOG"))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def print_debug_info() -> None:
    """Print versions of frazil, its plugins and key dependencies (for bug reports)."""
    dists = sorted(d.metadata["Name"] for d in importlib.metadata.distributions()
                   if (d.metadata["Name"] or "").startswith("frazil"))
    lines = [f"platform: {platform.platform()}", f"python: {sys.version.split()[0]}"]
    lines += [f"{d}: {_version(d)}" for d in dists]
    lines += [f"{d}: {_version(d)}" for d in ("zarr", "numpy", "pluggy", "zstandard",
                                               "flatbuffers", "xarray", "dask")]
    print("\n".join(lines))


def user_agent() -> str:
    """The user-agent string frazil sends with storage requests."""
    return f"frazil-python-{_version('frazil')}"


def shutdown_telemetry() -> None:
    """Flush and shut down telemetry export: frazil exports none, so this does nothing."""


@text_forms("frazil.Attribution", executable=True)
@dataclass(frozen=True, slots=True, kw_only=True)
class Attribution:
    """Who is making requests (client, workload, principal), for storage request headers."""

    client: str | None = None
    workload: str | None = None
    principal: str | None = None
