"""Local media storage whose failed saves leave nothing behind.

Django's FileSystemStorage writes straight to the final name (or copies a temp file
there when it cannot rename across filesystems), and when that fails half-way -- a
full disk, above all -- the partial file stays, under a name nobody was ever told.
Every save in the project (uploads, covers, stems, peaks, mixdowns) goes through here,
so each caller only cleans up what it was handed back. (With STORAGE=s3 the bucket
keeps the same promise by itself: platform.s3_storage.)
"""

import contextlib
import shutil
import threading
from pathlib import Path

from django.core.files.storage import FileSystemStorage


class MediaStorage(FileSystemStorage):
    # The name the current thread is writing: Storage.save() picks it, and _save() picks
    # another one itself when a rival created that name first.
    _writing = threading.local()

    def get_available_name(self, name, max_length=None):
        name = super().get_available_name(name, max_length=max_length)
        self._writing.name = name
        return name

    def _save(self, name, content):
        self._writing.name = name
        try:
            return super()._save(name, content)
        except BaseException:
            # Nothing was at this name when it was chosen: what is there now is this save's own half.
            with contextlib.suppress(OSError):
                self.delete(self._writing.name)
            raise


def local_copy(storage, name, target):
    """A local path holding the stored file ``name``: the file itself when storage is local
    disk, else a copy written to ``target`` (a worker's scratch folder: workers share no disk)."""
    try:
        return Path(storage.path(name))
    except NotImplementedError:
        pass
    if hasattr(storage, "download"):
        return storage.download(name, target)
    with storage.open(name, "rb") as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    return Path(target)


def read_chunks(storage, name, chunk_size):
    """The stored file's bytes, chunk by chunk, streamed from wherever it lives."""
    if hasattr(storage, "iter_chunks"):
        yield from storage.iter_chunks(name, chunk_size)
        return
    with storage.open(name, "rb") as source:
        while chunk := source.read(chunk_size):
            yield chunk
