"""Single-object GET, HEAD and PUT, and listing, without boto3's per-request machinery.

boto3 spends about a millisecond of Python per request (parameter
serialisation, a dozen event hooks, endpoint rules, header dictionaries,
response parsing) where the work is one signed HTTP request. For the calls
that carry the data (chunk and metadata reads and writes) frazil-s3 builds the
request itself, signs it with botocore's own SigV4 signer
(:class:`botocore.auth.S3SigV4Auth`) and sends it over a urllib3 pool. The
object URL comes from botocore once per bucket (its endpoint rules decide
between path and virtual-hosted addressing), so both routes reach the same
place; with a custom endpoint and path-style addressing it is simply
``<endpoint>/<bucket>/<key>``, and the boto3 client is not built until a call
needs it (about 15 MiB and 8 ms less for a process that only reads, writes and
lists objects). Listing (``ListObjectsV2``, keys URL-encoded by the server and
decoded here, as botocore does) takes this route too; batch deletes and
multipart uploads stay on the boto3 client.

Answers look like boto3's: a dict with ``Body``, ``ETag``, ``ContentLength``
and ``LastModified``, and failures raise :class:`botocore.exceptions.ClientError`
with the S3 error code, so retry and error mapping are shared by both routes.
A redirect or an authorization-header complaint (a bucket in another region)
switches the client to boto3 for good, which knows how to follow it.
"""

from __future__ import annotations

import io
import threading
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote_plus, urlencode, urlsplit
from xml.etree import ElementTree

__all__ = ["DirectS3", "FallBack"]

_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_PUT_KEYS = frozenset({"Bucket", "Key", "Body", "IfNoneMatch", "IfMatch", "StorageClass"})
_GET_KEYS = frozenset({"Bucket", "Key", "Range"})
_HEAD_KEYS = frozenset({"Bucket", "Key"})
_LIST_KEYS = frozenset({"Bucket", "Prefix", "ContinuationToken"})
_OPS = {"get_object": ("GET", _GET_KEYS, "GetObject"),
        "head_object": ("HEAD", _HEAD_KEYS, "HeadObject"),
        "put_object": ("PUT", _PUT_KEYS, "PutObject"),
        "list_objects_v2": ("GET", _LIST_KEYS, "ListObjectsV2")}
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
#: boto3's answer to these is a redirect dance (another region) this route does not do.
_REDIRECT_STATUS = {301, 302, 307, 308}
_REGION_CODES = {"AuthorizationHeaderMalformed", "PermanentRedirect",
                 "IllegalLocationConstraintException"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("frazil-s3")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _iso_datetime(text: str) -> datetime:
    """``2026-12-02T07:43:06.000Z`` (S3's ``LastModified`` in listings), timezone-aware."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class FallBack(Exception):
    """This request (and every later one) should go through boto3."""


class DirectS3:
    """Signed single-object requests over a shared urllib3 pool.

    Parameters
    ----------
    client
        Returns the boto3 client (built on first call) whose endpoint rules
        give a bucket's object URL when ``path_base`` is not set.
    credentials
        botocore credentials (refreshed by botocore when refreshable), or
        ``None`` for unsigned requests.
    region
        The signing region.
    path_base
        For a path-style endpoint: the URL its buckets follow (see
        :meth:`path_style_base`); object URLs are then built without boto3.
    max_connections
        Pool size per host.
    connect_timeout, read_timeout
        Socket timeouts of one attempt, in seconds.
    read_headers, write_headers
        Extra headers for GET/HEAD and for PUT.
    ca_bundle
        CA certificates to verify TLS with, as botocore was told
        (``AWS_CA_BUNDLE``); ``None``: botocore's default bundle.
    """

    def __init__(self, client: Callable[[], Any], credentials: Any, *, region: str,
                 max_connections: int, path_base: str | None = None,
                 ca_bundle: str | None = None,
                 connect_timeout: float, read_timeout: float,
                 read_headers: Mapping[str, str] | None = None,
                 write_headers: Mapping[str, str] | None = None) -> None:
        import urllib3
        from botocore.httpsession import get_cert_path

        self._client = client
        self._credentials = credentials
        self._region = region
        self._path_base = path_base
        self._read_headers = dict(read_headers or {})
        self._write_headers = dict(write_headers or {})
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()
        self.enabled = True
        self._user_agent = f"frazil-s3/{_version()} urllib3/{urllib3.__version__}"
        self._pool = urllib3.PoolManager(
            num_pools=16, maxsize=max(10, max_connections), block=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            ca_certs=ca_bundle or get_cert_path(True))

    @staticmethod
    def usable(endpoint_url: str, client_proxies: Any = None) -> bool:
        """Whether the plain route reaches the same endpoint as boto3 (no proxy in between)."""
        host = urlsplit(endpoint_url).hostname or ""
        proxies = urllib.request.getproxies()
        if client_proxies or (proxies and not urllib.request.proxy_bypass(host)):
            return False
        return True

    @staticmethod
    def path_style_base(endpoint_url: str) -> str | None:
        """The URL prefix of a bucket's objects at a path-style ``endpoint_url`` (the bucket
        name and a slash follow), as botocore builds it; ``None`` if the URL is unusual."""
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
                or parts.fragment or "@" in parts.netloc:
            return None
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"

    def handles(self, op: str, kwargs: Mapping[str, Any]) -> bool:
        spec = _OPS.get(op)
        return self.enabled and spec is not None and kwargs.keys() <= spec[1]

    # -- addressing -------------------------------------------------------------------

    def _base(self, bucket: str) -> str:
        """The URL of ``bucket``'s objects, as botocore's endpoint rules build it."""
        base = self._bases.get(bucket)
        if base is None and self._path_base is not None:
            base = self._bases[bucket] = f"{self._path_base}{quote(bucket, safe='')}/"
        if base is None:
            probe = "frazil-probe-key"
            url = self._client().generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": probe}, ExpiresIn=60)
            parts = urlsplit(url)
            if not parts.path.endswith("/" + probe):
                raise FallBack(f"unexpected object URL layout {parts.path!r}")
            base = f"{parts.scheme}://{parts.netloc}{parts.path[:-len(probe)]}"
            with self._lock:
                self._bases[bucket] = base
        return base

    # -- requests ---------------------------------------------------------------------

    def request(self, op: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Perform ``op`` (``get_object``, ``head_object``, ``put_object``,
        ``list_objects_v2``) as boto3 would."""
        if op == "list_objects_v2":
            return self._list(kwargs)
        method, _, op_name = _OPS[op]
        url = self._base(kwargs["Bucket"]) + quote(kwargs["Key"], safe="/~")
        body: bytes | None = None
        if method == "PUT":
            body = bytes(kwargs["Body"])
            headers = dict(self._write_headers)
            if "IfNoneMatch" in kwargs:
                headers["If-None-Match"] = kwargs["IfNoneMatch"]
            if "IfMatch" in kwargs:
                headers["If-Match"] = kwargs["IfMatch"]
            if kwargs.get("StorageClass"):
                headers["x-amz-storage-class"] = kwargs["StorageClass"]
        else:
            headers = dict(self._read_headers)
            if kwargs.get("Range"):
                headers["Range"] = kwargs["Range"]
        resp = self._send(method, url, body, headers, op_name)
        status = resp.status
        out: dict[str, Any] = {"ETag": resp.headers.get("ETag"),
                               "ResponseMetadata": {"HTTPStatusCode": status}}
        if method != "PUT":
            length = resp.headers.get("Content-Length")
            out["ContentLength"] = int(length) if length is not None else len(resp.data)
            modified = resp.headers.get("Last-Modified")
            if modified:
                out["LastModified"] = parsedate_to_datetime(modified)
            if method == "GET":
                out["Body"] = io.BytesIO(resp.data)
        return out

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
              op_name: str) -> Any:
        """Sign (unless anonymous) and send one request; a status >= 300 raises."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers["User-Agent"] = self._user_agent
        if self._credentials is not None:
            req = AWSRequest(method, url, data=body, headers=headers)
            if body is None:
                req.headers["X-Amz-Content-SHA256"] = _EMPTY_SHA256
            S3SigV4Auth(self._credentials.get_frozen_credentials(), "s3",
                        self._region).add_auth(req)
            headers = dict(req.headers.items())
        resp = self._pool.request(method, url, body=body, headers=headers,
                                  preload_content=True, decode_content=False, redirect=False)
        if resp.status >= 300:
            raise self._failure(resp, op_name)
        return resp

    def _list(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """One page of ``ListObjectsV2``: keys URL-encoded by the server and decoded here,
        as botocore does, so that any key survives the XML."""
        query = [("encoding-type", "url"), ("list-type", "2")]
        if kwargs.get("ContinuationToken"):
            query.insert(0, ("continuation-token", kwargs["ContinuationToken"]))
        if kwargs.get("Prefix"):
            query.append(("prefix", kwargs["Prefix"]))
        url = self._base(kwargs["Bucket"]).rstrip("/") + "?" + urlencode(
            query, quote_via=quote, safe="-_.~")
        resp = self._send("GET", url, None, dict(self._read_headers), "ListObjectsV2")
        root = ElementTree.fromstring(resp.data)
        ns = _S3_NS if root.tag.startswith(_S3_NS) else ""
        url_encoded = root.findtext(f"{ns}EncodingType") == "url"
        contents = []
        for item in root.iter(f"{ns}Contents"):
            key = item.findtext(f"{ns}Key") or ""
            contents.append({
                "Key": unquote_plus(key) if url_encoded else key,
                "Size": int(item.findtext(f"{ns}Size") or 0),
                "LastModified": _iso_datetime(item.findtext(f"{ns}LastModified") or ""),
                "ETag": item.findtext(f"{ns}ETag")})
        out: dict[str, Any] = {"Contents": contents,
                               "IsTruncated": root.findtext(f"{ns}IsTruncated") == "true",
                               "ResponseMetadata": {"HTTPStatusCode": resp.status}}
        token = root.findtext(f"{ns}NextContinuationToken")
        if token:
            out["NextContinuationToken"] = token
        return out

    def _failure(self, resp: Any, op_name: str) -> Exception:
        from botocore.exceptions import ClientError

        status = resp.status
        code, message = str(status), ""
        if resp.data:
            try:
                root = ElementTree.fromstring(resp.data)
                code = root.findtext("Code") or code
                message = root.findtext("Message") or ""
            except ElementTree.ParseError:
                message = resp.data[:200].decode("utf-8", "replace")
        elif status == 404:
            code = "404"
        if status in _REDIRECT_STATUS or code in _REGION_CODES:
            self.enabled = False
            return FallBack(f"{op_name}: {status} {code}")
        return ClientError({"Error": {"Code": code, "Message": message},
                            "ResponseMetadata": {"HTTPStatusCode": status,
                                                 "HTTPHeaders": dict(resp.headers)}}, op_name)
