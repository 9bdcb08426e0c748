"""Upload handling that streams to disk, hashes on the way and enforces the size limit.

Django's multipart parser feeds us the file in 1 MB chunks; helper threads write
them to a temp file (never memory) and hash them while the next chunk arrives,
and we stop reading as soon as the upload is over the limit. The reason
is left on the request for the view to report, since the parser swallows
``StopUpload``.
"""

import hashlib
import queue
import threading
from typing import NamedTuple

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from accounts.quotas import quota_for
from separation.jobs import is_disk_full

# Multipart framing (boundaries, headers, other small fields) on top of the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
ERROR_ATTRIBUTE = "stemroom_upload_error"
# Chunks waiting for each helper thread: bounds the memory one upload can pin (8 x 1 MB).
MAX_CHUNKS_IN_FLIGHT = 8


class UploadRefused(NamedTuple):
    message: str
    code: str
    status: int


def upload_error(request):
    """Why the handler refused the upload (an ``UploadRefused``), or None."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, ERROR_ATTRIBUTE, None)


def size_limit_message(limit):
    return f"The file is larger than the {limit / 1024**2:.0f} MB upload limit."


STORAGE_FULL_MESSAGE = (
    "The server's storage is full, so the file could not be saved; nothing was kept. "
    "Try again later, or tell the administrator."
)


class BackgroundSink:
    """Writes an upload to its temp file and hashes it (sha256) on two helper threads.

    The request thread only parses; one helper writes each chunk, the other hashes
    it, both outside the GIL, so receiving, writing and hashing overlap. At most
    ``MAX_CHUNKS_IN_FLIGHT`` chunks wait for the helpers, which bounds the memory a
    fast client can pin.
    """

    def __init__(self, file):
        self.digest = hashlib.sha256()
        self.errors = []
        self._helpers = [self._start(file.write, "upload-write"), self._start(self.digest.update, "upload-hash")]

    def write(self, chunk):
        if self.errors:
            raise self.errors[0]
        # Bytes are immutable: both helpers can read the same chunk.
        for inbox, room, _ in self._helpers:
            room.acquire()
            inbox.put(chunk)

    def finish(self):
        """Wait until every chunk is written and hashed; returns the hex digest."""
        self.close()
        if self.errors:
            raise self.errors[0]
        return self.digest.hexdigest()

    def close(self):
        """Stop the helpers once they are through what they were given."""
        for inbox, _, thread in self._helpers:
            inbox.put(None)
            thread.join()
        self._helpers = []

    def _start(self, consume, name):
        inbox, room = queue.SimpleQueue(), threading.Semaphore(MAX_CHUNKS_IN_FLIGHT)
        thread = threading.Thread(target=self._serve, args=(inbox, room, consume), name=name, daemon=True)
        thread.start()
        return inbox, room, thread

    def _serve(self, inbox, room, consume):
        while (chunk := inbox.get()) is not None:
            if not self.errors:
                try:
                    consume(chunk)
                except BaseException as exc:  # raised again in the request thread
                    self.errors.append(exc)
            room.release()


class HashingUploadHandler(TemporaryFileUploadHandler):
    # Large chunks keep the per-chunk Python work small. The multipart parser copies
    # each chunk a few times; platform.wsgi keeps such blocks on malloc's heap so
    # that those copies do not fault in fresh pages every time.
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = quota_for(getattr(request, "user", None)).max_upload_bytes
        self.request_length = None
        self.sink = None
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length

    def new_file(self, *args, **kwargs):
        if self.request_length and self.request_length > self.limit + MULTIPART_OVERHEAD_BYTES:
            self._refuse(UploadRefused(size_limit_message(self.limit), "file_too_large", 413))
        super().new_file(*args, **kwargs)
        self._close_sink()
        self.sink = BackgroundSink(self.file)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse(UploadRefused(size_limit_message(self.limit), "file_too_large", 413))
        try:
            self.sink.write(raw_data)
        except OSError as exc:
            self._refuse_unless_disk_full(exc)

    def file_complete(self, file_size):
        try:
            sha256 = self.sink.finish()
        except OSError as exc:
            self._refuse_unless_disk_full(exc)
        self.sink = None
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = sha256
        return uploaded

    def upload_interrupted(self):
        self._close_sink()
        super().upload_interrupted()

    def _close_sink(self):
        if self.sink:
            sink, self.sink = self.sink, None
            sink.close()

    def _refuse(self, refused):
        self._close_sink()
        # The temp file goes now: the parser forgets a file it stopped half-way.
        if getattr(self, "file", None) is not None:
            self.file.close()
        setattr(self.request, ERROR_ATTRIBUTE, refused)
        # Reading on would only waste time and disk; the client gets its answer now.
        raise StopUpload(connection_reset=True)

    def _refuse_unless_disk_full(self, exc):
        if not is_disk_full(exc):
            raise exc
        self._refuse(UploadRefused(STORAGE_FULL_MESSAGE, "storage_full", 507))
