"""Listing over HTTP: the WebDAV multi-status parser (the part nginx cannot exercise)."""

from __future__ import annotations

from datetime import UTC, datetime

from frazil_http._webdav import parse_multistatus

MULTISTATUS = b"""<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:">
 <D:response><D:href>/data/repo/</D:href><D:propstat><D:prop>
   <D:resourcetype><D:collection/></D:resourcetype></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>http://host/data/repo/repo</D:href><D:propstat><D:prop>
   <D:resourcetype/><D:getcontentlength>416</D:getcontentlength>
   <D:getlastmodified>Wed, 02 Dec 2026 01:02:34 GMT</D:getlastmodified></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>/data/repo/chunks/AB%20C</D:href><D:propstat><D:prop>
   <D:getcontentlength>7</D:getcontentlength></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>/data/repo/snapshots/</D:href><D:propstat><D:prop>
   <D:resourcetype><D:collection/></D:resourcetype></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>/elsewhere/x</D:href><D:propstat><D:prop>
   <D:getcontentlength>1</D:getcontentlength></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>"""


def test_files_only_relative_to_the_root():
    found = {o.path: o for o in parse_multistatus(MULTISTATUS, "/data/repo/")}
    assert sorted(found) == ["chunks/AB C", "repo"]
    assert found["repo"].size_bytes == 416
    assert found["repo"].last_modified == datetime(2026, 12, 2, 1, 2, 34, tzinfo=UTC)
    assert found["chunks/AB C"].size_bytes == 7
