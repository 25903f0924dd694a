"""``to_icechunk``: write xarray objects into a frazil session, dask arrays in parallel.

Metadata and in-memory variables are written through the session's store;
dask-backed variables are written by dask tasks through a fork of the session
(:meth:`frazil.Session.fork`), and the forks are merged back, so the call works
on a ``distributed`` cluster and leaves the session ready to commit. Needs
``xarray`` (and ``dask`` for lazy variables): ``pip install 'frazil[xarray]'``.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Mapping, MutableMapping
from typing import Any, Literal

import zarr

try:
    import xarray as xr
except ImportError as e:  # an optional dependency: say how to get it
    raise ImportError("frazil.xarray needs xarray: pip install 'frazil[xarray]'") from e
from packaging.version import Version
from xarray.backends.common import ArrayWriter
from xarray.backends.zarr import ZarrStore

from frazil.session import Session
from frazil.store import IcechunkStore

try:  # xarray > 2025.09 moved the writers out of backends.api
    from xarray.backends.writers import _validate_dataset_names, dump_to_store
except ImportError:  # pragma: no cover - older xarray
    from xarray.backends.api import (  # type: ignore[no-redef,attr-defined]
        _validate_dataset_names,
        dump_to_store,
    )

try:  # dask is optional: eager (numpy-backed) writes need only xarray
    from dask.base import is_dask_collection

    from frazil.dask import store_dask
except ImportError:  # pragma: no cover - exercised without dask installed
    store_dask = None  # type: ignore[assignment]

__all__ = ["to_icechunk"]

MIN_XARRAY = "2024.10.0"
if Version(xr.__version__) < Version(MIN_XARRAY):
    raise ImportError(f"frazil.xarray requires xarray>={MIN_XARRAY}, "
                      f"but xarray {xr.__version__} is installed")

Region = Mapping[str, slice | Literal["auto"]] | Literal["auto"] | None
ZarrWriteModes = Literal["w", "w-", "a", "a-", "r+", "r"]

# names xarray gives a DataArray written as a Dataset (as DataArray.to_zarr does)
_DATAARRAY_NAME = "__xarray_dataarray_name__"
_DATAARRAY_VARIABLE = "__xarray_dataarray_variable__"


def _is_lazy(x: Any) -> bool:
    return store_dask is not None and bool(is_dask_collection(x))


class _SplitWriter(ArrayWriter):
    """Collects what xarray would write: eager (numpy) values now, lazy (dask) ones later."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.eager: list[tuple[Any, Any, Any]] = []

    def add(self, source: Any, target: Any, region: Any = None) -> None:
        if _is_lazy(source):
            self.sources.append(source)
            self.targets.append(target)
            self.regions.append(region)
        else:
            self.eager.append((source, target, region))

    def write_eager(self) -> None:
        for source, target, region in self.eager:
            target[region or ...] = source
        self.eager = []


def _default_mode(mode: ZarrWriteModes | None, append_dim: Hashable | None,
                  region: Region) -> ZarrWriteModes:
    """xarray's rule: "a" when appending, "r+" when writing a region, else "w-"."""
    if mode is not None:
        if append_dim is not None and mode not in ("a", "a-"):
            raise ValueError(f"append_dim was set along with mode={mode!r}, "
                             "either set mode='a' or 'a-', or leave it unset")
        return mode
    if append_dim is not None:
        return "a"
    if region is not None:
        return "r+"
    return "w-"


def _as_dataset(obj: xr.DataArray | xr.Dataset) -> xr.Dataset:
    if isinstance(obj, xr.Dataset):
        return obj
    if not isinstance(obj, xr.DataArray):
        raise TypeError(f"to_icechunk writes an xarray Dataset or DataArray, "
                        f"not {type(obj).__name__}")
    if obj.name is None:
        return obj.to_dataset(name=_DATAARRAY_VARIABLE)
    if obj.name in obj.coords or obj.name in obj.dims:
        ds = obj.to_dataset(name=_DATAARRAY_VARIABLE)
        ds.attrs[_DATAARRAY_NAME] = obj.name
        return ds
    return obj.to_dataset()


def _open_zarr_store(store: IcechunkStore, **kwargs: Any) -> ZarrStore:
    if "align_chunks" not in inspect.signature(ZarrStore.open_group).parameters:
        kwargs.pop("align_chunks")  # xarray < 2025.06
    return ZarrStore.open_group(store=store, zarr_format=3, consolidated=False,
                                consolidate_on_close=False, **kwargs)


def to_icechunk(obj: xr.DataArray | xr.Dataset, session: Session, *, group: str | None = None,
                mode: ZarrWriteModes | None = None, safe_chunks: bool = True,
                align_chunks: bool = False, append_dim: Hashable | None = None,
                region: Region = None, encoding: Mapping[Any, Any] | None = None,
                chunkmanager_store_kwargs: MutableMapping[Any, Any] | None = None,
                split_every: int | None = None) -> None:
    """Write an xarray ``Dataset`` or ``DataArray`` to a group of a frazil session.

    Dask-backed variables are written in parallel by dask (any scheduler,
    including ``distributed``) through a fork of ``session``, merged back when
    done; commit ``session`` afterwards.

    Parameters
    ----------
    obj : DataArray or Dataset
        What to write.
    session : frazil.Session
        A writable session.
    group : str, optional
        The group to write to (zarr's ``path``).
    mode : {"w", "w-", "a", "a-", "r+", "r"}, optional
        "w" replaces, "w-" creates and fails if present, "a" overrides or
        appends variables, "a-" appends only the variables with
        ``append_dim``, "r+" changes existing values only. Defaults to "a"
        with ``append_dim``, "r+" with ``region``, else "w-".
    safe_chunks : bool, default True
        Refuse dask chunks that straddle zarr chunks (parallel writes could
        corrupt data).
    align_chunks : bool, default False
        Rechunk dask arrays to match the zarr chunks before writing.
    append_dim : hashable, optional
        Dimension along which to append.
    region : dict or "auto", optional
        The region of existing arrays to write, by dimension (slices or "auto").
    encoding : dict, optional
        Per-variable encodings, as for ``Dataset.to_zarr``.
    chunkmanager_store_kwargs : dict, optional
        Passed to ``dask.compute`` when writing dask arrays (e.g. ``scheduler``).
    split_every : int, optional
        Fan-in of the tree merging the per-task forks.
    """
    if not isinstance(session, Session) or not isinstance(session.store, IcechunkStore):
        raise ValueError(f"to_icechunk needs a frazil Session, not {type(session).__name__}")
    dataset = _as_dataset(obj)
    zstore = _open_zarr_store(
        session.store, group=group, mode=_default_mode(mode, append_dim, region),
        append_dim=append_dim, write_region=region, safe_chunks=safe_chunks,
        align_chunks=align_chunks)
    dataset = zstore._validate_and_autodetect_region(dataset)
    _validate_dataset_names(dataset)
    encoding = dict(encoding or {})
    zstore._validate_encoding(encoding)
    writer = _SplitWriter()
    # creates or resizes every array (zarr.json) and queues the values
    dump_to_store(dataset, zstore, writer, encoding=encoding)
    writer.write_eager()
    if not writer.sources:
        return
    assert store_dask is not None  # lazy sources exist only when dask imports
    # workers write through a fork: it carries this session's new arrays and resizes
    fork = session.fork()
    targets = [zarr.open_array(fork.store, path=t.path, mode="a") for t in writer.targets]
    merged = store_dask(sources=writer.sources, targets=targets, regions=writer.regions,
                        split_every=split_every, **dict(chunkmanager_store_kwargs or {}))
    session.merge(merged)
