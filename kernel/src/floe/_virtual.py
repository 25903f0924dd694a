"""Reading virtual chunk refs: authorization, then a resolver by URL scheme.

Only ``file://`` is resolved by the kernel today; other schemes come from
plugins (``floe.virtual_chunks`` entry points, a later milestone).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from floe._errors import ErrorKind, InvalidInputError, StorageError

if TYPE_CHECKING:
    from floe.repository import Repository


def _authorized_prefix(repo: Repository, location: str) -> str | None:
    for prefix in repo.authorized_virtual_container_prefixes():
        if prefix.endswith("/") and location.startswith(prefix):
            return prefix
    return None


def _read_file(path: str, start: int, end: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start)


async def fetch_virtual(repo: Repository, ref: tuple[Any, ...],
                        byte_range: tuple[int, int | None] | None) -> bytes:
    _, location, offset, length, _etag, _mtime = ref
    if _authorized_prefix(repo, location) is None:
        raise InvalidInputError(f"virtual chunk at {location!r} is outside every authorized "
                                "virtual chunk container", "unauthorized-virtual-chunk-container")
    url = urlparse(location)
    if url.scheme != "file":
        raise InvalidInputError(f"no virtual chunk resolver for {url.scheme}:// is installed",
                                "no-container-for-virtual-chunk")
    path = unquote(url.path)
    if ".." in path.split("/"):
        raise InvalidInputError(f"virtual chunk path {location!r} contains '..'",
                                ErrorKind.INVALID_PATH)
    start, end = (0, length) if byte_range is None else byte_range
    end = length if end is None else min(end, length)
    try:
        data = await asyncio.to_thread(_read_file, os.path.normpath(path), offset + start,
                                       offset + end)
    except OSError as e:
        raise StorageError(f"cannot read virtual chunk {location}: {e}",
                           "virtual-chunk-fetch") from None
    return data
