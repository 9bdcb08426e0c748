"""Serve a stored file to someone already authorized, with HTTP Range support.

``<audio>`` seeks by asking for byte ranges; without ``206 Partial Content`` a
browser can only play from the start. One range per request is what browsers
send; a multi-range request gets the whole file (RFC 9110 allows that).

Media in a bucket (STORAGE=s3) is not proxied: the view redirects to a URL the bucket
signed for a few minutes, and the bucket serves the ranges.
"""

import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse

CHUNK = 256 * 1024
ASCII_LOOKALIKES = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": "'", "”": "'", "…": "..."})
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


# More digits than any file size can have: such a number only means "beyond the end".
# Parsing it whole would be slow, and int() refuses over 4300 digits with ValueError.
MAX_DIGITS = 18


def _offset(digits):
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def parse_range(header, size):
    """Return (start, end) inclusive, None for "send it all", or "unsatisfiable"."""
    match = RANGE_RE.match(header.strip()) if header else None
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        # A suffix range: the last N bytes.
        length = _offset(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = _offset(first)
    end = _offset(last) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def _read_range(fileobj, start, length):
    try:
        fileobj.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fileobj.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fileobj.close()


def content_disposition(name):
    """``attachment`` with an ASCII ``filename`` fallback and the exact UTF-8 ``filename*`` (RFC 6266/5987)."""
    fallback = unicodedata.normalize("NFKD", name.translate(ASCII_LOOKALIKES))
    fallback = fallback.encode("ascii", "ignore").decode().replace("\\", "").replace('"', "'")
    fallback = " ".join(fallback.split()) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def signed_redirect(storage, name, *, content_type, download_name=None):
    """302 to a short-lived signed URL of a bucket (STORAGE=s3): the bucket answers Range itself.

    Only ever called once the view has checked permission; the redirect itself must not be
    cached, or a browser would follow it after the URL expired.
    """
    disposition = content_disposition(download_name) if download_name else None
    response = HttpResponseRedirect(
        storage.signed_url(name, content_type=content_type, content_disposition=disposition)
    )
    response["Cache-Control"] = "private, no-store"
    return response


def ranged_file_response(request, fieldfile, *, content_type, download_name=None, etag=None):
    storage = fieldfile.storage
    if hasattr(storage, "signed_url"):
        return signed_redirect(storage, fieldfile.name, content_type=content_type, download_name=download_name)
    size = storage.size(fieldfile.name)
    wanted = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if wanted is not None and if_range and etag and if_range.strip('"') != etag:
        wanted = None  # The client's copy is stale: send the whole new file.

    if wanted == "unsatisfiable":
        response = JsonResponse(
            {"detail": f"The requested range is outside this file ({size} bytes).", "code": "range_not_satisfiable"},
            status=416,
        )
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = FileResponse(storage.open(fieldfile.name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        length = end - start + 1
        response = StreamingHttpResponse(
            _read_range(storage.open(fieldfile.name, "rb"), start, length),
            status=206,
            content_type=content_type,
        )
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    # Private media: browsers may cache it, shared caches must not.
    response["Cache-Control"] = "private, max-age=3600"
    if etag:
        response["ETag"] = f'"{etag}"'
    if download_name:
        response["Content-Disposition"] = content_disposition(download_name)
    return response
