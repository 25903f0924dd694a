"""Listing over HTTP: WebDAV ``PROPFIND``, as icechunk's HTTP store (``object_store``) lists.

A plain web server has no listing; a WebDAV server answers ``PROPFIND`` with
``Depth: infinity`` by a ``207 Multi-Status`` document naming every file
under the folder with its size and modification time. A ``404`` is an empty
listing; a refusal (``405``, ``501``, ``403``...) is a clear
:class:`~frazil.StorageError`: repository reads never list, but garbage
collection, expiration and creation checks do.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

from frazil.errors import ErrorKind, StorageError
from frazil.storage import ObjectInfo

from frazil_http._client import HttpClient, redact_url

__all__ = ["list_by_propfind", "parse_multistatus"]

_DAV = "{DAV:}"
_BODY = (b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop>'
         b"<resourcetype/><getcontentlength/><getlastmodified/></prop></propfind>")


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.fromtimestamp(0, UTC)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0, UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_multistatus(body: bytes, base_path: str) -> list[ObjectInfo]:
    """Files of a ``207 Multi-Status`` body, with paths relative to ``base_path``.

    ``base_path`` is the URL path of the storage root, ending with ``/``.
    Collections (folders) and entries outside ``base_path`` are left out.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise StorageError(f"cannot parse the WebDAV listing: {exc}",
                           ErrorKind.OBJECT_STORE) from None
    out = []
    for resp in root.iter(f"{_DAV}response"):
        href = resp.findtext(f"{_DAV}href") or ""
        path = unquote(urlsplit(href).path)
        if not path.startswith(base_path):
            continue
        rel = path[len(base_path):]
        props = [p for ps in resp.iter(f"{_DAV}propstat")
                 if "200" in (ps.findtext(f"{_DAV}status") or "200")
                 and (p := ps.find(f"{_DAV}prop")) is not None]
        if not rel or rel.endswith("/") or any(
                p.find(f"{_DAV}resourcetype/{_DAV}collection") is not None for p in props):
            continue
        size = next((p.findtext(f"{_DAV}getcontentlength") for p in props
                     if p.findtext(f"{_DAV}getcontentlength")), "0")
        modified = next((p.findtext(f"{_DAV}getlastmodified") for p in props
                         if p.findtext(f"{_DAV}getlastmodified")), None)
        out.append(ObjectInfo(rel, int(size or 0), _when(modified)))
    return out


async def list_by_propfind(client: HttpClient, base_url: str, prefix: str) -> list[ObjectInfo]:
    """Objects under ``base_url`` (ends with ``/``) whose relative path starts with ``prefix``."""
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    resp = await client.request("PROPFIND", base_url + folder,
                                headers={"Depth": "infinity",
                                         "Content-Type": "application/xml"},
                                body=_BODY)
    if resp.status == 404:
        return []
    if resp.status != 207:
        raise StorageError(
            f"cannot list {redact_url(base_url + folder)}: listing over HTTP needs a WebDAV "
            f"server answering PROPFIND, and this one answered {resp.status}. Reading the "
            "repository does not list; operations that do (garbage collection, expiration, "
            "creation checks) are not possible on this server", ErrorKind.OBJECT_STORE)
    base_path = unquote(urlsplit(base_url).path)
    found = parse_multistatus(resp.body, base_path)
    return sorted((o for o in found if o.path.startswith(prefix)), key=lambda o: o.path)
