"""Reading virtual chunk refs: authorization first, then a resolver by URL scheme.

Resolvers come from the ``frazil.virtual_chunks`` hook (the kernel's own
``file://`` resolver registers the same way). A location outside every
authorized container prefix is refused before any I/O.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunsplit

from frazil._coalesce import RangeCoalescer
from frazil.credentials import unwrap_credentials
from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.format.model import VirtualChunkRef
from frazil.plugins import get_plugins
from frazil.virtual import SupportsObjectMetadata


def normalize_location(location: str) -> str:
    """``location`` with dot segments resolved, as a URL client would resolve them.

    Containers are matched against the normalized URL, and the resolver is
    sent exactly that URL, so ``s3://b/ok/../secret`` (or ``%2e%2e``) can
    never pass as a location under ``s3://b/ok/``. Empty segments (``//``)
    are refused: object stores cannot address such keys.
    """
    check_location(location)
    if not may_need_normalizing(location):
        return location
    parts = urlsplit(location)
    out: list[str] = []
    segments = parts.path.split("/")
    for i, raw in enumerate(segments):
        seg = raw.replace("%2e", ".").replace("%2E", ".")
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(raw)
    if any(seg == "" for seg in out[1:-1]) or (len(out) > 1 and out[0] != ""):
        raise InvalidInputError(f"virtual chunk location {location!r} contains empty (//), "
                                "'.' or '..' path segments", ErrorKind.INVALID_PATH)
    path = "/".join(out)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def may_need_normalizing(location: str) -> bool:
    """Cheap test: only these locations can hold dot or empty segments."""
    rest = location[location.index("://") + 3:]
    return "/." in rest or "//" in rest or "%2" in rest or rest.startswith(".")


def container_prefix(prefixes: Iterable[str], location: str) -> str | None:
    """The longest container prefix that the (normalized) ``location`` lies under."""
    best = None
    for prefix in prefixes:
        # on a segment boundary: s3://b/foo/ (or s3://b/foo) never holds s3://b/foo-prod/x
        bounded = prefix if prefix.endswith("/") else prefix + "/"
        if location.startswith(bounded) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


class VirtualChunkReader:
    """Reads the virtual chunks of one repository handle.

    Holds the handle's authorizations, the persisted container settings, and
    one resolver and one range coalescer per authorized container (built on
    first use).
    """

    def __init__(self, containers: Callable[[], dict[str, Any] | None],
                 authorized: dict[str, Any]) -> None:
        # read when a resolver is built: the handle's config may change before
        self._containers = containers
        self._authorized = dict(authorized)
        self._resolvers: dict[str, Any] = {}
        self._coalescers: dict[str, RangeCoalescer] = {}

    @property
    def authorized_prefixes(self) -> set[str]:
        return set(self._authorized)

    def container_store(self, prefix: str) -> Any:
        """The persisted store settings (``{kind: options}``) of the container at ``prefix``."""
        entry = (self._containers() or {}).get(prefix)
        if not isinstance(entry, dict):
            return None
        return copy.deepcopy(entry.get("store"))

    def resolver(self, prefix: str, location: str) -> Any:
        """The (cached) resolver for the container at ``prefix``."""
        resolver = self._resolvers.get(prefix)
        if resolver is None:
            factory = get_plugins().resolver_for_scheme(urlparse(location).scheme)
            credentials = unwrap_credentials(self._authorized.get(prefix))
            if _accepts_store(factory):
                resolver = factory(prefix, credentials, store=self.container_store(prefix))
            else:
                resolver = factory(prefix, credentials)
            self._resolvers[prefix] = resolver
        return resolver

    async def fetch(self, ref: VirtualChunkRef,
                    byte_range: tuple[int, int | None] | None) -> bytes:
        """Bytes of one virtual chunk (``byte_range`` relative to the chunk)."""
        location, length = normalize_location(ref.location), ref.length
        # a ref resolves only through a configured container that this handle authorized
        prefix = container_prefix((self._containers() or {}).keys(), location)
        if prefix is None:
            raise InvalidInputError(
                f"no virtual chunk container can handle the chunk location ({location}): add "
                "a virtual chunk container for it to the repository configuration",
                ErrorKind.NO_CONTAINER_FOR_VIRTUAL_CHUNK)
        if prefix not in self._authorized:
            raise InvalidInputError(
                f"a virtual chunk in this repository resolves to the url prefix {prefix}: "
                "authorize that virtual chunk container (authorize_virtual_chunk_access) when "
                "you open or create the repository to fetch it",
                ErrorKind.UNAUTHORIZED_VIRTUAL_CHUNK_CONTAINER)
        start, end = (0, length) if byte_range is None else byte_range
        end = length if end is None else min(end, length)
        start = min(start, end)
        if start == end:
            return b""
        resolver = self.resolver(prefix, location)
        if ref.etag is not None or ref.last_modified:
            await check_unmodified(resolver, location, ref.etag, ref.last_modified)
        coalescer = self._coalescers.get(prefix)
        if coalescer is None:
            coalescer = self._coalescers[prefix] = RangeCoalescer(resolver.fetch)
        return await coalescer.fetch(location, ref.offset + start, ref.offset + end)


def _accepts_store(factory: Any) -> bool:
    """Whether a resolver factory takes the ``store=`` keyword (or ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == "store" and p.kind in (
        p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) for p in params)


async def check_unmodified(resolver: Any, location: str, etag: str | None, mtime: int) -> None:
    """Refuse a chunk whose object changed since the ref was written (as icechunk).

    The resolver's ``object_metadata(location)`` returns ``(etag, last_modified
    seconds as float)``. An etag must be equal; a last-modified checksum
    fails when the object was modified after it. Resolvers without
    ``object_metadata`` cannot verify, so the read is refused rather than
    risking stale data.
    """
    if not isinstance(resolver, SupportsObjectMetadata):
        raise StorageError(f"cannot verify the checksum of virtual chunk object {location}: "
                           "its resolver reports no object metadata",
                           ErrorKind.VIRTUAL_CHUNK_MODIFIED)
    cur_etag, cur_mtime = await resolver.object_metadata(location)
    # S3 and friends quote etags in some answers and not in others
    if etag is not None and (cur_etag or "").strip('"') != etag.strip('"'):
        raise StorageError(f"the checksum of the object owning the virtual chunk has changed "
                           f"({location}): etag {cur_etag!r} != recorded {etag!r}",
                           ErrorKind.VIRTUAL_CHUNK_MODIFIED)
    if mtime and (cur_mtime is None or cur_mtime > mtime):
        raise StorageError(f"the checksum of the object owning the virtual chunk has changed "
                           f"({location}): modified at {cur_mtime} after the recorded "
                           f"{mtime}", ErrorKind.VIRTUAL_CHUNK_MODIFIED)


def check_location(location: str) -> None:
    if not isinstance(location, str) or "://" not in location:
        raise InvalidInputError(f"virtual chunk location {location!r} is not a URL",
                                ErrorKind.INVALID_PATH)
