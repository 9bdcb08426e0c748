"""Downloads people keep: named after the song, in the format they pick, one stem or all of them.

Every stem is stored twice (separation.tasks): a 16-bit FLAC to keep and an MP3 for
browsers. FLAC and MP3 downloads are those files; a WAV is decoded from the FLAC while it
is sent, and a zip of all stems is written while it is sent (zipstream-ng, stored without
compression since audio does not shrink), so neither is ever held whole in memory or on
disk. Both have an exact Content-Length: the WAV's from the FLAC's frame count, the zip's
from its entries' sizes, so a browser shows real progress.

With STORAGE=s3 a FLAC or MP3 download is a redirect to a signed URL that names the file,
and the zip's entries stream from the bucket while it is sent.

Names are "Artist – Title (vocals).flac": ``vocals.flac`` from two songs would collide
in a downloads folder. They go in Content-Disposition twice: ``filename*`` (RFC 5987,
UTF-8, what every current browser uses) and a plain-ASCII ``filename`` for the rest.
"""

import re
import struct

import numpy as np
import soundfile
from django.http import StreamingHttpResponse
from zipstream import ZIP_STORED, ZipStream

from platform.storage import read_chunks

from .streaming import CHUNK, content_disposition, signed_redirect

RENDITIONS = ("flac", "wav", "mp3")
# Characters no common file system accepts in a name, and control characters.
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_NAME = 180
WAV_BLOCK_FRAMES = 64 * 1024


def song_name(title, artist=""):
    """ "Artist – Title", or the title alone: the stem of every download's file name."""
    return f"{artist} – {title}" if artist else title


def file_name(song, ext, part=None):
    """A safe file name: ``song_name (part).ext``, without characters file systems refuse."""
    stem = f"{song} ({part})" if part else song
    stem = " ".join(UNSAFE.sub(" ", stem).split()).strip(" .")[:MAX_NAME].strip(" .")
    return f"{stem or 'Stemroom download'}.{ext.lstrip('.')}"


def extension(fieldfile):
    name = fieldfile.name
    return name[name.rfind(".") + 1 :] if "." in name else "bin"


# --- WAV, decoded from the stored FLAC while it is sent ---


def _wav_format(info):
    """Bits per sample the WAV keeps: the FLAC's own 16 or 24 (the stems are 16-bit)."""
    return 24 if info.subtype == "PCM_24" else 16


def wav_size(fieldfile):
    with fieldfile.storage.open(fieldfile.name, "rb") as source:
        info = soundfile.info(source)
    return 44 + info.frames * info.channels * _wav_format(info) // 8


def wav_header(frames, channels, rate, bits):
    data = frames * channels * bits // 8
    block = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data"
        + struct.pack("<I", data)
    )


def wav_chunks(fieldfile):
    """The FLAC as a PCM WAV, block by block: header first, then the samples little-endian."""
    with fieldfile.storage.open(fieldfile.name, "rb") as source, soundfile.SoundFile(source) as flac:
        bits = _wav_format(flac)
        yield wav_header(flac.frames, flac.channels, flac.samplerate, bits)
        dtype = "<i2" if bits == 16 else "<i4"
        for block in flac.blocks(blocksize=WAV_BLOCK_FRAMES, dtype=dtype.lstrip("<"), always_2d=True):
            block = block.astype(dtype, copy=False)
            if bits == 24:
                # libsndfile gives 24-bit samples in the top three bytes of an int32.
                yield np.ascontiguousarray(block).view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()
            else:
                yield block.tobytes()


def file_chunks(fieldfile):
    return read_chunks(fieldfile.storage, fieldfile.name, CHUNK)


def stem_source(stem, rendition):
    """(chunks, size, extension, content type) of one stem in ``rendition``."""
    if rendition == "wav":
        return wav_chunks(stem.lossless), wav_size(stem.lossless), "wav", "audio/wav"
    field = stem.lossless if rendition == "flac" else stem.compressed
    return file_chunks(field), field.storage.size(field.name), extension(field), _content_type(field)


def _content_type(field):
    return {"flac": "audio/flac", "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg"}.get(
        extension(field), "application/octet-stream"
    )


def attachment_response(chunks, size, content_type, name):
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition(name)
    response["Cache-Control"] = "private, no-store"
    return response


def stem_download(stem, rendition, song):
    if rendition != "wav" and hasattr(stem.lossless.storage, "signed_url"):
        # A stored file in a bucket (STORAGE=s3): the bucket sends it, under the song's name.
        field = stem.lossless if rendition == "flac" else stem.compressed
        return signed_redirect(
            field.storage,
            field.name,
            content_type=_content_type(field),
            download_name=file_name(song, extension(field), stem.name),
        )
    chunks, size, ext, content_type = stem_source(stem, rendition)
    return attachment_response(chunks, size, content_type, file_name(song, ext, stem.name))


def stems_zip(stems, rendition, song):
    """Every stem in one zip, written while it is sent: nothing is held whole in memory."""
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for stem in stems:
        chunks, size, ext, _ = stem_source(stem, rendition)
        archive.add(chunks, file_name(song, ext, stem.name), size=size)
    return attachment_response(
        archive, len(archive), "application/zip", file_name(song, "zip", f"stems, {rendition.upper()}")
    )
