"""Helpers for distributed array frameworks: sessions out of zarr arrays, merging forks.

Importing this module needs only zarr; :mod:`frazil.dask` builds on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from frazil.session import ForkSession, Session
from frazil.store import IcechunkStore

__all__ = ["extract_session", "merge_sessions"]


def _leaves(items: Iterable[Any]) -> Iterator[Any]:
    """Items of arbitrarily nested lists, depth first (dask hands reductions lists)."""
    for item in items:
        if isinstance(item, list):
            yield from _leaves(item)
        else:
            yield item


def extract_session(zarray: Any, axis: Any = None, keepdims: Any = None) -> Session:
    """The frazil session behind a zarr array stored in an ``IcechunkStore``.

    Parameters
    ----------
    zarray : zarr.Array
        An array opened on ``session.store`` (typically a fork's store).
    axis, keepdims : Any
        Ignored; accepted so the function can serve as a dask reduction step.

    Returns
    -------
    Session
    """
    store = getattr(zarray, "store", None)
    if not isinstance(store, IcechunkStore):
        raise TypeError(f"expected a zarr array stored in a frazil IcechunkStore, got "
                        f"{type(zarray).__name__} over {type(store).__name__}")
    return store.session


def merge_sessions(*sessions: ForkSession | list[Any]) -> ForkSession:
    """Merge fork sessions (possibly in nested lists) into the first one and return it.

    Parameters
    ----------
    sessions : ForkSession or (nested) lists of ForkSession
        The forks to merge; the same fork object given twice is merged once.

    Returns
    -------
    ForkSession
        The first fork, now holding every fork's changes.
    """
    forks = list(_leaves(sessions))
    if not forks:
        raise TypeError("merge_sessions needs at least one ForkSession")
    for s in forks:
        if not isinstance(s, ForkSession):
            raise TypeError(
                f"merge_sessions only accepts ForkSession objects, got a {type(s).__name__!r}; "
                "to merge forks into the session that made them use Session.merge(*forks). "
                "See https://icechunk.io/en/stable/parallel/")
    first, seen = forks[0], {id(forks[0])}
    rest = []
    for s in forks[1:]:
        if id(s) not in seen:  # threads of one process share one fork object
            seen.add(id(s))
            rest.append(s)
    first.merge(*rest)
    return first
