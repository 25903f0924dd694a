"""Number of chunks per dimension from a zarr.json chunk grid (regular or rectilinear).

A snapshot stores, per array dimension, its length and its number of chunks;
chunk sizes stay in the zarr metadata. A ``regular`` grid has
``ceil(length / chunk)`` chunks per dimension. A ``rectilinear`` grid
(``configuration.chunk_shapes``, one list per dimension) counts one chunk per
listed size and ``n`` for a run-length pair ``[size, n]``, whatever the sizes
add up to; icechunk 2.3 counts the same way and refuses the other forms
(such as a bare integer for a dimension), so frazil refuses them too.
"""

from __future__ import annotations

from typing import Any

from frazil.errors import ErrorKind, InvalidInputError

__all__ = ["chunk_counts"]


def _bad(path: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"invalid array metadata for {path}: {why}",
                             ErrorKind.INVALID_ARRAY_METADATA)


def _rectilinear_counts(conf: Any, ndim: int, path: str) -> list[int]:
    dims = conf.get("chunk_shapes") if isinstance(conf, dict) else None
    if not isinstance(dims, list):
        raise _bad(path, "cannot parse `chunk_shapes` for rectilinear chunk grid")
    counts = []
    for dim in dims:
        if not isinstance(dim, list):
            raise _bad(path, "cannot parse `chunk_shapes` for rectilinear chunk grid (each "
                             "dimension must be a list of sizes or [size, count] runs)")
        n = 0
        for item in dim:
            if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
                n += 1
            elif (isinstance(item, list) and len(item) >= 2
                  and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                          for x in item[:2])):
                n += item[1]
            else:
                raise _bad(path, "cannot parse `chunk_shapes` for rectilinear chunk grid")
        counts.append(n)
    if len(counts) != ndim:
        raise _bad(path, f"the rectilinear chunk grid has {len(counts)} dimension(s), the "
                         f"shape {ndim}")
    if any(c >= 2**32 for c in counts):
        raise _bad(path, "too many chunks in a dimension")
    return counts


def chunk_counts(meta: dict[str, Any], shape: list[int], path: str) -> list[int]:
    """Chunks per dimension of the array ``meta`` (its zarr.json) of ``shape``."""
    grid = meta.get("chunk_grid")
    name = grid.get("name") if isinstance(grid, dict) else None
    conf = grid.get("configuration") if isinstance(grid, dict) else None
    if name == "rectilinear":
        return _rectilinear_counts(conf, len(shape), path)
    if name != "regular":
        raise _bad(path, f"unsupported chunk grid {name!r}: only 'regular' and 'rectilinear' "
                         "chunk grids are supported")
    try:
        chunk_shape = [int(x) for x in conf["chunk_shape"]]  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise _bad(path, "needs shape and a regular chunk_grid") from None
    if len(shape) != len(chunk_shape) or any(c <= 0 for c in chunk_shape):
        raise _bad(path, f"shape {shape} and chunk shape {chunk_shape} disagree")
    return [-(-s // c) for s, c in zip(shape, chunk_shape, strict=True)]
