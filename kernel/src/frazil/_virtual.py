"""Reading virtual chunk refs: authorization first, then a resolver by URL scheme.

Resolvers come from the ``frazil.virtual_chunks`` hook (the kernel's own
``file://`` resolver registers the same way). A location outside every
authorized container prefix is refused before any I/O.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from frazil._coalesce import RangeCoalescer
from frazil._errors import ErrorKind, InvalidInputError, StorageError

if TYPE_CHECKING:
    from frazil.repository import Repository


def authorized_prefix(prefixes: Any, location: str) -> str | None:
    """The longest authorized container prefix that ``location`` lies under."""
    best = None
    for prefix in prefixes:
        # prefixes end with "/": s3://b/foo/ never authorizes s3://b/foo-prod/x
        if prefix.endswith("/") and location.startswith(prefix):
            if best is None or len(prefix) > len(best):
                best = prefix
    return best


def resolver_for(repo: Repository, prefix: str, location: str) -> Any:
    """The (cached) resolver for one container of ``repo``."""
    from frazil.plugins import get_plugins

    cache = repo._resolvers
    resolver = cache.get(prefix)
    if resolver is None:
        scheme = urlparse(location).scheme
        factory = get_plugins().resolver_for_scheme(scheme)
        credentials = repo._authorized.get(prefix)
        if _accepts_store(factory):
            resolver = factory(prefix, credentials, store=container_store(repo, prefix))
        else:
            resolver = factory(prefix, credentials)
        cache[prefix] = resolver
    return resolver


def container_store(repo: Repository, prefix: str) -> Any:
    """The persisted store settings (``{kind: options}``) of the container at ``prefix``."""
    containers = repo.config._data.get("virtual_chunk_containers") or {}
    entry = containers.get(prefix)
    if not isinstance(entry, dict):
        return None
    return copy.deepcopy(entry.get("store"))


def _accepts_store(factory: Any) -> bool:
    """Whether a resolver factory takes the ``store=`` keyword (or ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == "store" and p.kind in (
        p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) for p in params)


async def fetch_virtual(repo: Repository, ref: tuple[Any, ...],
                        byte_range: tuple[int, int | None] | None) -> bytes:
    _, location, offset, length, etag, mtime = ref
    prefix = authorized_prefix(repo.authorized_virtual_container_prefixes(), location)
    if prefix is None:
        raise InvalidInputError(f"virtual chunk at {location!r} is outside every authorized "
                                "virtual chunk container (authorize_virtual_chunk_access)",
                                "unauthorized-virtual-chunk-container")
    start, end = (0, length) if byte_range is None else byte_range
    end = length if end is None else min(end, length)
    start = min(start, end)
    if start == end:
        return b""
    resolver = resolver_for(repo, prefix, location)
    if etag is not None or mtime:
        await check_unmodified(resolver, location, etag, mtime)
    coalescers = repo._coalescers
    coalescer = coalescers.get(prefix)
    if coalescer is None:
        coalescer = coalescers[prefix] = RangeCoalescer(resolver.fetch)
    return await coalescer.fetch(location, offset + start, offset + end)


async def check_unmodified(resolver: Any, location: str, etag: str | None, mtime: int) -> None:
    """Refuse a chunk whose object changed since the ref was written (as icechunk).

    The resolver's ``object_metadata(location)`` returns ``(etag, last_modified
    seconds as float)``. An etag must be equal; a last-modified checksum
    fails when the object was modified after it. Resolvers without
    ``object_metadata`` cannot verify, so the read is refused rather than
    risking stale data.
    """
    meta = getattr(resolver, "object_metadata", None)
    if meta is None:
        raise StorageError(f"cannot verify the checksum of virtual chunk object {location}: "
                           "its resolver reports no object metadata", "virtual-chunk-modified")
    cur_etag, cur_mtime = await meta(location)
    # S3 and friends quote etags in some answers and not in others
    if etag is not None and (cur_etag or "").strip('"') != etag.strip('"'):
        raise StorageError(f"the checksum of the object owning the virtual chunk has changed "
                           f"({location}): etag {cur_etag!r} != recorded {etag!r}",
                           "virtual-chunk-modified")
    if mtime and (cur_mtime is None or cur_mtime > mtime):
        raise StorageError(f"the checksum of the object owning the virtual chunk has changed "
                           f"({location}): modified at {cur_mtime} after the recorded "
                           f"{mtime}", "virtual-chunk-modified")


def check_location(location: str) -> None:
    if not isinstance(location, str) or "://" not in location:
        raise InvalidInputError(f"virtual chunk location {location!r} is not a URL",
                                ErrorKind.INVALID_PATH)
