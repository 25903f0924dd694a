"""The kernel's ``file://`` virtual chunk resolver, registered as a plugin."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.plugins._registry import VirtualChunkResolverRegistry
from frazil.plugins.hookspecs import hookimpl
from frazil.storage import ObjectNotFoundError, in_thread_pool


class FileResolver:
    """Reads byte ranges of local files named by ``file://`` URLs."""

    def __init__(self, container: str, credentials: Any = None) -> None:
        self.container = container

    @staticmethod
    def _path(location: str) -> str:
        url = urlparse(location)
        if url.scheme != "file" or url.netloc not in ("", "localhost"):
            raise InvalidInputError(f"not a local file URL: {location!r}", ErrorKind.INVALID_PATH)
        path = unquote(url.path)
        if ".." in path.split("/"):
            raise InvalidInputError(f"virtual chunk path {location!r} contains '..'",
                                    ErrorKind.INVALID_PATH)
        return path

    @staticmethod
    def _read(path: str, start: int, end: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    @staticmethod
    def _stat(path: str) -> tuple[str, float]:
        st = os.stat(path)
        # the etag the object_store crate (used by icechunk) gives local files:
        # inode-mtime_micros-size in hex
        return f"{st.st_ino:x}-{st.st_mtime_ns // 1000:x}-{st.st_size:x}", st.st_mtime_ns / 1e9

    async def object_metadata(self, location: str) -> tuple[str | None, float | None]:
        """``(etag, modification time in seconds)`` of the file at ``location``."""
        path = self._path(location)
        try:
            return await in_thread_pool("frazil-files", self._stat, path, size=32)
        except FileNotFoundError:
            raise ObjectNotFoundError(location) from None
        except OSError as e:
            raise StorageError(f"cannot stat virtual chunk file {location}: {e}",
                               ErrorKind.VIRTUAL_CHUNK_FETCH) from None

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        path = self._path(location)
        if start < 0 or end < start:
            raise InvalidInputError(f"invalid byte range {start}-{end} for {location}",
                                    ErrorKind.INVALID_BYTE_RANGE)
        try:
            data = await in_thread_pool("frazil-files", self._read, path, start, end, size=32)
        except FileNotFoundError:
            raise ObjectNotFoundError(location) from None
        except OSError as e:
            raise StorageError(f"cannot read virtual chunk {location}: {e}",
                               ErrorKind.VIRTUAL_CHUNK_FETCH) from None
        if len(data) != end - start:
            raise StorageError(f"virtual chunk {location} [{start}, {end}) is past the end of "
                               f"the file ({start + len(data)} bytes readable)",
                               ErrorKind.VIRTUAL_CHUNK_FETCH)
        return data


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register ``file`` for ``file://`` locations."""
    registry.add("file", FileResolver, url_schemes=("file",), distribution="frazil")
