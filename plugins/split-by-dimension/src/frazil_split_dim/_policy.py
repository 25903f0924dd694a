"""Split an array's manifests every N chunks along a named dimension."""

from __future__ import annotations

import re

import numpy as np
from frazil.split import SplitArray, groups_from_edges, uniform_edges


class SplitByDimension:
    """One manifest per ``every`` chunks along the dimension called ``dimension``.

    Parameters
    ----------
    dimension
        Zarr dimension name, e.g. ``"time"`` (exact match).
    every
        Chunks per manifest along that dimension.
    arrays
        Regular expression searched in the array's path; arrays that do not
        match keep one manifest. Default: every array.

    Arrays without a dimension of that name keep one manifest.
    """

    def __init__(self, dimension: str = "time", every: int = 100, arrays: str = "") -> None:
        self.dimension = dimension
        self.every = int(every)
        self.arrays = re.compile(arrays)
        uniform_edges(1, self.every)  # validates every >= 1

    def __repr__(self) -> str:
        return (f"SplitByDimension(dimension={self.dimension!r}, every={self.every}, "
                f"arrays={self.arrays.pattern!r})")

    def split(self, array: SplitArray, coords: np.ndarray) -> list[np.ndarray] | None:
        names = list(array.dimension_names or ())
        if self.dimension not in names or not self.arrays.search(array.path):
            return None
        axis = names.index(self.dimension)
        edges = [[0, max(n, 1)] for n in array.num_chunks]
        edges[axis] = uniform_edges(array.num_chunks[axis], self.every)
        return groups_from_edges(coords, edges)
