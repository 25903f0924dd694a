"""Entry point of frazil-http (groups ``frazil.storage`` and ``frazil.virtual_chunks``)."""

from __future__ import annotations

from frazil.plugins import NameRegistry, StorageRegistry, VirtualChunkResolverRegistry, hookimpl
from frazil.storage import Storage

from frazil_http._config import http_store
from frazil_http._redirect import redirect_from_url, redirect_storage
from frazil_http._resolver import HttpChunkResolver
from frazil_http._storage import http_from_url, http_storage


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``http`` (``http://``, ``https://``, ``http(s)+icechunk://``) and ``redirect``."""
    registry.add("http", http_storage, distribution="frazil-http", from_url=http_from_url,
                 url_schemes=("http", "https", "http+icechunk", "http+ic", "https+icechunk",
                              "https+ic"))
    registry.add("redirect", redirect_storage, distribution="frazil-http",
                 from_url=redirect_from_url, url_schemes=("redirect+http", "redirect+https"))


@hookimpl
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register the ``http://`` / ``https://`` virtual chunk resolver."""
    registry.add("http", HttpChunkResolver, url_schemes=("http", "https"),
                 distribution="frazil-http")


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """icechunk's HTTP names in the ``frazil`` namespace (``frazil.http_storage``...)."""
    for obj in (http_storage, http_store, redirect_storage):
        registry.add(obj.__name__, obj)
    registry.add("new_http", new_http, module="frazil.Storage")
    registry.add("new_redirect", new_redirect, module="frazil.Storage")


def new_http(base_url: str, config: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> Storage:
    """icechunk's ``Storage.new_http``."""
    return http_storage(base_url, config, headers)


def new_redirect(base_url: str) -> Storage:
    """icechunk's ``Storage.new_redirect``."""
    return redirect_storage(base_url)
