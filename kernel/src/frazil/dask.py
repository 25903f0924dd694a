"""``store_dask``: write dask arrays into frazil arrays and collect the change sets.

Each dask task writes its block through the zarr array it was handed (over a
:class:`~frazil.ForkSession` store, pickled to its worker); the forks that come
back are merged in a tree of ``split_every`` fan-in and the merged fork is
returned, ready for :meth:`frazil.Session.merge`. Needs ``dask[array]``
(``pip install 'frazil[dask]'``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    import dask
    import dask.array as da
except ImportError as e:  # an optional dependency: say how to get it
    raise ImportError("frazil.dask needs dask: pip install 'frazil[dask]'") from e
import numpy as np
from packaging.version import Version

from frazil.distributed import extract_session, merge_sessions
from frazil.session import ForkSession, Session

__all__ = ["SimpleGraph", "computing_meta", "merge_sessions_array_kwargs",
           "session_merge_reduction", "store_dask"]

#: a dask task graph as plain data: (name, index) keys to task tuples
type SimpleGraph = Mapping[tuple[str, int], tuple[Any, ...]]

MIN_DASK = "2025.2.0"
DEFAULT_SPLIT_EVERY = 8
_REFUSED = ("compute", "return_stored", "load_stored", "lock")


def _check_dask_version() -> None:
    have = dask.__version__  # type: ignore[attr-defined]
    if Version(have) < Version(MIN_DASK):
        raise ValueError(f"writing to frazil with dask requires dask>={MIN_DASK}, "
                         f"but dask {have} is installed; please upgrade")


def _meta_placeholder() -> np.ndarray:
    return np.array([object()], dtype=object)


def computing_meta[**P, R](func: Callable[P, R]) -> Callable[P, Any]:
    """Wrap a dask reduction step so that dask's meta probe skips it.

    When dask calls the step with ``computing_meta=True`` (to learn the output type) the
    wrapper returns a one-element object array and ``func`` does not run; otherwise it
    calls ``func`` with the same arguments.
    """
    @functools.wraps(func)
    def step(*args: P.args, **kwargs: P.kwargs) -> Any:
        if kwargs.get("computing_meta", False):
            return _meta_placeholder()
        return func(*args, **kwargs)

    return step


def merge_sessions_array_kwargs(*sessions: Any, axis: Any = None,
                                keepdims: Any = None) -> ForkSession:
    """:func:`frazil.distributed.merge_sessions` taking (and ignoring) the ``axis`` and
    ``keepdims`` arguments a dask reduction passes its aggregate step."""
    return merge_sessions(*sessions)


def _reduction_of(arr: Any) -> Callable[..., Any]:
    """``dask.array.reduction`` for a dask array, or the ``dask_array`` package's one."""
    if isinstance(arr, da.Array):
        return da.reduction  # type: ignore[no-any-return]
    other = sys.modules.get("dask_array")
    if other is not None and isinstance(arr, other.Array):
        return other.reduction  # type: ignore[no-any-return]
    raise TypeError(f"expected a dask array, got {type(arr).__name__}")


def session_merge_reduction(arrays: Any, *, split_every: int | None,
                            **store_kwargs: Any) -> ForkSession:
    """Merge the forks behind stored dask arrays into one fork, as a dask tree reduction.

    ``arrays`` (one or a list) are what ``dask.array.store(..., return_stored=True,
    load_stored=False)`` returns: each block evaluates to the zarr array its task wrote to.
    Each array is reduced on its own (their shapes differ) with fan-in ``split_every``; the
    per-array results are computed (``store_kwargs`` go to the reduction) and merged.
    """
    if not isinstance(arrays, list | tuple):
        arrays = [arrays]
    reduced = [_reduction_of(arr)(arr, name="frazil-changeset",
                                  chunk=computing_meta(extract_session),
                                  aggregate=computing_meta(merge_sessions_array_kwargs),
                                  split_every=split_every, concatenate=False, keepdims=False,
                                  dtype=object, meta=_meta_placeholder(), **store_kwargs)
               for arr in arrays]
    return merge_sessions(*da.compute(*reduced))


def _merge_step(*parts: Any) -> ForkSession:
    """One node of the merge tree: zarr arrays (leaves) or forks, merged into one fork."""
    forks = [p if isinstance(p, Session) else extract_session(p) for p in parts]
    return merge_sessions(*forks)


def _tree_merge(leaves: list[Any], split_every: int) -> Any:
    """A delayed tree over ``leaves`` whose root is the merged fork."""
    level = [dask.delayed(_merge_step)(*leaves[i:i + split_every])
             for i in range(0, len(leaves), split_every)]
    while len(level) > 1:
        level = [dask.delayed(_merge_step)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0]


def store_dask(*, sources: Sequence[Any], targets: Sequence[Any],
               regions: Sequence[tuple[slice, ...] | None] | None = None,
               split_every: int | None = None, **store_kwargs: Any) -> ForkSession:
    """``dask.array.store`` for frazil arrays; returns the merged fork.

    The writes run now (eagerly). ``targets`` are zarr arrays opened on a
    fork's store (``zarr.open_array(fork.store, path=...)``); merge the
    returned fork into the session that made it and commit that session.

    Parameters
    ----------
    sources : list of dask.array.Array
        The dask arrays to write.
    targets : list of zarr.Array
        The arrays to write them into, one per source.
    regions : list of tuple of slice, optional
        The region of each target to write (the whole array when absent).
    split_every : int, optional
        Fan-in of the tree that merges the per-task forks (default 8).
    **store_kwargs
        Passed on to ``dask.array.store`` / ``dask.compute`` (for example
        ``scheduler=``); ``compute``, ``return_stored``, ``load_stored`` and
        ``lock`` are set by frazil and refused.

    Returns
    -------
    ForkSession
        The fork holding every task's changes.
    """
    _check_dask_version()
    refused = sorted(k for k in store_kwargs if k in _REFUSED)
    if refused:
        raise ValueError(f"store_dask does not accept {', '.join(refused)}")
    if len(sources) != len(targets) or not sources:
        raise ValueError(f"store_dask needs as many targets as sources, and at least one "
                         f"(got {len(sources)} sources, {len(targets)} targets)")
    fan_in = DEFAULT_SPLIT_EVERY if split_every is None else int(split_every)
    if fan_in < 2:
        raise ValueError(f"split_every must be at least 2, not {split_every}")
    region_list = list(regions) if regions is not None else None
    stored = da.store(list(sources), list(targets), regions=region_list, compute=False,
                      return_stored=True, load_stored=False, lock=False)
    if not isinstance(stored, tuple | list):
        stored = [stored]  # dask returns a lone array for a single source
    # every block of a stored array evaluates to the zarr array (its fork) it wrote into
    leaves = [block for arr in stored for block in arr.to_delayed().ravel().tolist()]
    (merged,) = dask.compute(_tree_merge(leaves, fan_in), **store_kwargs)
    return merged  # type: ignore[no-any-return]
