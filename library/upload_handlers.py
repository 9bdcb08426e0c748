"""Upload handling that streams to disk, hashes on the way and enforces the size limit.

Django's multipart parser feeds us the file in 1 MB chunks; we write them to a
temp file (never memory), hash them on a helper thread so hashing overlaps with
receiving, and stop reading as soon as the upload is over the limit. The reason
is left on the request for the view to report, since the parser swallows
``StopUpload``.
"""

import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from accounts.quotas import quota_for

# Multipart framing (boundaries, headers, other small fields) on top of the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
ERROR_ATTRIBUTE = "stemroom_upload_error"
# Chunks waiting for the hashing thread; bounds the memory a fast client can pin.
MAX_CHUNKS_IN_FLIGHT = 8


def upload_error(request):
    """The message set by the handler when it refused the upload, or None."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, ERROR_ATTRIBUTE, None)


def size_limit_message(limit):
    return f"The file is larger than the {limit / 1024**2:.0f} MB upload limit."


class BackgroundHasher:
    """sha256 on one helper thread, fed in order; hashlib releases the GIL on large updates."""

    def __init__(self):
        self.digest = hashlib.sha256()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-hash")
        self.pending = deque()

    def update(self, chunk):
        self.pending.append(self.executor.submit(self.digest.update, chunk))
        if len(self.pending) > MAX_CHUNKS_IN_FLIGHT:
            self.pending.popleft().result()

    def hexdigest(self):
        self.close()
        return self.digest.hexdigest()

    def close(self):
        while self.pending:
            self.pending.popleft().result()
        self.executor.shutdown(wait=True)


class HashingUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = quota_for(getattr(request, "user", None)).max_upload_bytes
        self.request_length = None
        self.hasher = None
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length

    def new_file(self, *args, **kwargs):
        if self.request_length and self.request_length > self.limit + MULTIPART_OVERHEAD_BYTES:
            self._refuse()
        super().new_file(*args, **kwargs)
        self._close_hasher()
        self.hasher = BackgroundHasher()
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        self.hasher.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.hasher.hexdigest()
        self.hasher = None
        return uploaded

    def upload_interrupted(self):
        self._close_hasher()
        super().upload_interrupted()

    def _close_hasher(self):
        if self.hasher:
            self.hasher.close()
            self.hasher = None

    def _refuse(self):
        self._close_hasher()
        setattr(self.request, ERROR_ATTRIBUTE, size_limit_message(self.limit))
        # Reading on would only waste time and disk; the client gets its 413 now.
        raise StopUpload(connection_reset=True)
