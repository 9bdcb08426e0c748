"""Turn an uploaded file into a Track, or refuse it and leave nothing behind.

Both the API and the library page call ``ingest``. The upload is already on
disk (``HashingUploadHandler``) with its sha256; here we check it against the
owner's limits, prove it is audio, pull out a cover picture, then move it into
storage and create the row together: if either fails, neither stays.
"""

import hashlib
import io
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, UnidentifiedImageError

from accounts.quotas import quota_for
from separation.jobs import is_disk_full

from . import audio_probe
from .models import Track
from .upload_handlers import STORAGE_FULL_MESSAGE, size_limit_message

logger = logging.getLogger(__name__)

COVER_SIZE = (512, 512)
HASH_CHUNK = 1024 * 1024


class IngestError(Exception):
    """An upload we refuse. ``status`` and ``code`` go straight into the API answer."""

    def __init__(self, message, *, code, status=400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Ingested:
    track: Track
    created: bool


def ingest(owner, uploaded, *, title="", artist="") -> Ingested:
    if uploaded is None:
        raise IngestError("No file was submitted: send the audio in the 'file' field.", code="required")
    quota = quota_for(owner)
    size = uploaded.size or 0
    if size == 0:
        raise IngestError("The file is empty (0 bytes).", code="empty_file")
    if size > quota.max_upload_bytes:
        raise IngestError(size_limit_message(quota.max_upload_bytes), code="file_too_large", status=413)

    with _on_disk(uploaded) as path:
        sha256 = getattr(uploaded, "sha256", None) or _sha256_of(path)
        existing = Track.objects.owned_by(owner).filter(sha256=sha256).first()
        if existing:
            return Ingested(existing, created=False)

        # A first look, to spare probing a file that cannot fit; _store decides under a lock.
        _check_room(owner, size, quota)

        try:
            info = audio_probe.probe(path, max_seconds=quota.max_track_seconds)
        except audio_probe.NotAudioError as exc:
            status = 415 if exc.code == "not_audio" else 422
            raise IngestError(str(exc), code=exc.code, status=status) from None

        cover = _cover_thumbnail(path, info.cover_stream_index)
        guessed_artist, guessed_title = _names_from_filename(uploaded.name)
        track = Track(
            owner=owner,
            title=(title or info.title or guessed_title)[:300],
            artist=(artist or info.artist or guessed_artist)[:300],
            original_name=PurePath(uploaded.name or "upload").name[:300],
            sha256=sha256,
            codec=info.codec,
            duration=info.duration,
            sample_rate=info.sample_rate,
            channels=info.channels,
            size=size,
        )
        peaks = json.dumps(list(info.peaks)).encode() if info.peaks else None
        return _store(track, uploaded, cover, quota, peaks)


def _check_room(owner, size, quota):
    used = Track.objects.storage_used_by(owner)
    if used + size > quota.storage_bytes:
        raise IngestError(
            f"Not enough storage left: this file needs {_mb(size)}, and {_mb(max(quota.storage_bytes - used, 0))} "
            f"of your {_mb(quota.storage_bytes)} quota is free. Delete some tracks to make room.",
            code="quota_exceeded",
            status=413,
        )


def _lock_storage_of(owner):
    """Hold the owner's row until this transaction ends, so their uploads take turns at the quota check.

    Without it, parallel uploads all read the same free space and all fit (eight 1 MB files
    into a 3 MB quota). PostgreSQL queues them on the row lock (FOR NO KEY UPDATE, which
    still lets other rows reference the user meanwhile); SQLite has no row locks, but every
    transaction here begins IMMEDIATE (settings.DATABASES), taking the database's write lock.
    """
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=owner.pk).values_list("pk"))


def _store(track, uploaded, cover, quota, peaks=None):
    stored = []
    try:
        with transaction.atomic():
            _lock_storage_of(track.owner)
            # The sum counts every track committed before the lock was ours; ours counts on commit.
            _check_room(track.owner, track.size, quota)
            # FileSystemStorage moves a temp upload with a rename: atomic on one filesystem.
            track.original.save(track.original_name, uploaded, save=False)
            stored.append(track.original.name)
            if cover:
                track.cover.save("cover.jpg", ContentFile(cover), save=False)
                stored.append(track.cover.name)
            if peaks:
                track.peaks.save("peaks.json", ContentFile(peaks), save=False)
                stored.append(track.peaks.name)
            track.save(force_insert=True)
    except IntegrityError:
        _delete_stored(track, stored)
        # Another request stored the same audio a moment ago.
        existing = Track.objects.owned_by(track.owner).filter(sha256=track.sha256).first()
        if existing is None:
            raise
        return Ingested(existing, created=False)
    except BaseException as exc:
        _delete_stored(track, stored)
        if is_disk_full(exc):
            raise IngestError(STORAGE_FULL_MESSAGE, code="storage_full", status=507) from None
        raise
    return Ingested(track, created=True)


def _delete_stored(track, names):
    for name in names:
        try:
            track.original.storage.delete(name)
        except OSError:
            logger.exception("Could not remove %s after a failed upload", name)


class _on_disk:
    """A filesystem path for the upload: the temp file it already is, or a spooled copy."""

    def __init__(self, uploaded):
        self.uploaded = uploaded
        self.spooled = None

    def __enter__(self):
        if hasattr(self.uploaded, "temporary_file_path"):
            return self.uploaded.temporary_file_path()
        settings.FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
        fd, self.spooled = tempfile.mkstemp(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=".upload")
        with os.fdopen(fd, "wb") as out:
            for chunk in self.uploaded.chunks():
                out.write(chunk)
        self.uploaded.seek(0)
        return self.spooled

    def __exit__(self, *exc):
        if self.spooled:
            os.unlink(self.spooled)


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _cover_thumbnail(path, stream_index):
    if stream_index is None:
        return None
    data = audio_probe.extract_cover(path, stream_index)
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGB")
            image.thumbnail(COVER_SIZE)
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        logger.info("Ignoring an unreadable cover picture in %s", path)
        return None


def _names_from_filename(filename):
    """'Artist - Title.mp3' gives both; otherwise the whole stem is the title."""
    stem = PurePath(filename or "Untitled").stem
    stem = re.sub(r"[_]+", " ", stem).strip() or "Untitled"
    artist, sep, title = stem.partition(" - ")
    if sep and artist.strip() and title.strip():
        return artist.strip(), title.strip()
    return "", stem


def _mb(size):
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    return f"{size / 1024**2:.1f} MB"
