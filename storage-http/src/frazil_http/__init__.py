"""frazil-http: read-only HTTP(S) and redirect storage for frazil, and the ``http(s)://`` resolver.

``from frazil_http import http_storage`` gives icechunk's ``http_storage``; once
the kernel maps the names lazily, ``frazil.http_storage`` is the same function.
"""

from __future__ import annotations

from frazil_http._config import HttpSettings, HttpStoreOptions, http_store
from frazil_http._redirect import HANDLED_SCHEMES, RedirectStorage, redirect_storage
from frazil_http._resolver import HttpAccess, HttpChunkResolver
from frazil_http._storage import HttpStorage, http_storage

__all__ = [
    "HANDLED_SCHEMES",
    "HttpAccess",
    "HttpChunkResolver",
    "HttpSettings",
    "HttpStorage",
    "HttpStoreOptions",
    "RedirectStorage",
    "http_storage",
    "http_store",
    "redirect_storage",
]
__version__ = "2.0.0.dev0"
