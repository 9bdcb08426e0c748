"""Prove that an uploaded file is audio, and read what we store about it.

ffprobe reads the container (codec, tags, declared duration, cover art). Then
ffmpeg decodes the audio and we count the samples that come out: that count is
the track's length, whatever the headers say. A truncated file decodes to less
than it declares; a crafted one (FLAC frames appended after the declared end,
chained Ogg streams, MP3s that change sample rate) decodes to far more. The
count stops, and ffmpeg is killed, as soon as it passes the length limit, so a
file that decodes to 12 hours costs what 20 minutes cost. Plain PCM WAV needs
no decoding: libsndfile reads its headers in-process, and every byte of its one
data chunk decodes, so the frames present are its decoded length.

The same pass measures the waveform (``AudioInfo.peaks``, ~1000 max-abs peaks a
minute, as the worker bins its stems) of the mono downmix that pass decodes: the
track page draws it before the song is split. A WAV has no decoding pass, so its
frames are read for the peaks in-process, block by block, and downmixed alike.
"""

import contextlib
import json
import logging
import math
import os
import signal
import struct
import subprocess
import tempfile
import threading
from dataclasses import dataclass

import numpy as np
import soundfile
from django.conf import settings

from separation.audio import PEAK_BIN_SAMPLES, PeakMeter, written_peaks
from separation.engines.base import CHANNELS, SAMPLE_RATE

logger = logging.getLogger(__name__)

# Codecs a browser's <audio> and Spleeter's decoder both handle via ffmpeg.
SUPPORTED_CODECS = {
    "mp3",
    "aac",
    "alac",
    "flac",
    "vorbis",
    "opus",
    "pcm_s16le",
    "pcm_s24le",
    "pcm_s32le",
    "pcm_f32le",
    "pcm_f64le",
    "pcm_u8",
    "pcm_s16be",
    "pcm_s24be",
    "pcm_s32be",
    "pcm_f32be",
}
# libsndfile's names for the PCM encodings a WAV file holds, as ffprobe names their codecs.
WAV_PCM_CODECS = {
    "PCM_U8": "pcm_u8",
    "PCM_16": "pcm_s16le",
    "PCM_24": "pcm_s24le",
    "PCM_32": "pcm_s32le",
    "FLOAT": "pcm_f32le",
    "DOUBLE": "pcm_f64le",
}
ID3_CHUNK_IDS = {b"id3 ", b"ID3 "}
TRUNCATION_TOLERANCE_SECONDS = 0.5
TRUNCATION_TOLERANCE_RATIO = 0.02
# Samples are counted as mono 16-bit at the rate the separation worker decodes at
# (separation.engines.SAMPLE_RATE), so both measure the same length. Measured on a
# FLAC bomb here, this is the fastest exact count: u8 output or a lower rate cost
# more in conversion or resampling than they save in pipe traffic.
COUNT_RATE = SAMPLE_RATE
COUNT_BYTES_PER_SAMPLE = 2
COUNT_READ_BYTES = 1024 * 1024


class NotAudioError(Exception):
    """The file is not audio we can use; the message says why, for the user.

    ``code`` is ``not_audio`` (wrong kind of file), ``damaged`` (audio that does
    not decode completely), ``too_long`` (over the duration limit) or
    ``decode_timeout`` (reading it took longer than STEMROOM_DECODE_TIMEOUT_SECONDS).
    """

    def __init__(self, message, code="not_audio"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    format_name: str
    duration: float
    sample_rate: int
    channels: int
    title: str
    artist: str
    cover_stream_index: int | None
    # The waveform of the whole song: max-abs peaks per ~60 ms bin, 0..1.
    peaks: tuple = ()


def _timeout():
    return settings.STEMROOM_DECODE_TIMEOUT_SECONDS


def _timed_out():
    return NotAudioError(
        f"Reading this file took longer than {_timeout()} s, so it was not accepted. "
        "Try again, or convert it to a common format (mp3, flac, wav).",
        "decode_timeout",
    )


def _start(args, **kwargs):
    try:
        # Its own process group, so that a timeout kills whatever it started too.
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
    except FileNotFoundError:
        raise RuntimeError(f"{args[0]} is not installed; run `make run` or `apt-get install ffmpeg`") from None


def _kill_group(process):
    # Only while the process is unreaped: its pid (the group id) cannot have been reused.
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class _Result:
    returncode: int
    stdout: bytes
    stderr: bytes


def _run(args):
    """Run ``args`` to completion within the decode timeout; NotAudioError("decode_timeout") past it."""
    process = _start(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=_timeout())
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise _timed_out() from None
    return _Result(process.returncode, stdout, stderr)


def _tag(tags, key):
    # Tag keys differ in case between containers (ID3 "title", Vorbis "TITLE").
    for name, value in tags.items():
        # NUL can hide in tags and PostgreSQL refuses to store it.
        text = str(value).replace("\x00", "").strip()
        if name.lower() == key and text:
            return text
    return ""


@dataclass(frozen=True)
class _Container:
    """What the file's headers say, before any decoding."""

    codec: str
    format_name: str
    declared: float  # seconds; 0 when the container does not say
    sample_rate: int
    channels: int
    tags: dict
    cover_stream_index: int | None
    # True only when ``declared`` counts the very samples ffmpeg would decode (a plain PCM WAV).
    exact: bool = False


def probe(path, max_seconds=None) -> AudioInfo:
    """Return what we know about the audio at ``path`` or raise NotAudioError."""
    container = _read_plain_wav(path) or _ffprobe(path)
    codec, declared = container.codec, container.declared
    if codec not in SUPPORTED_CODECS:
        raise NotAudioError(
            f"Audio codec '{codec or 'unknown'}' is not supported; use mp3, wav, flac, ogg, m4a/aac or opus."
        )
    if max_seconds is not None and declared and declared > max_seconds + 1:
        raise NotAudioError(_too_long_message(declared, max_seconds), "too_long")

    if container.exact:
        decoded = declared
        peaks = _wav_peaks(path)
    else:
        meter = _mono_meter()
        decoded = _decoded_seconds(path, stop_after=None if max_seconds is None else max_seconds + 1, meter=meter)
        peaks = _peaks(meter)
    if max_seconds is not None and decoded > max_seconds + 1:
        raise NotAudioError(_decodes_too_long_message(declared, max_seconds), "too_long")
    if decoded <= 0:
        raise NotAudioError("The file contains no decodable audio.", "damaged")
    if declared and decoded < declared - max(TRUNCATION_TOLERANCE_SECONDS, declared * TRUNCATION_TOLERANCE_RATIO):
        raise NotAudioError(
            f"The file is truncated or damaged: it declares {declared:.1f} s of audio but only {decoded:.1f} s decode.",
            "damaged",
        )

    return AudioInfo(
        codec=codec,
        format_name=container.format_name,
        duration=decoded,
        sample_rate=container.sample_rate,
        channels=container.channels,
        title=_tag(container.tags, "title"),
        artist=_tag(container.tags, "artist") or _tag(container.tags, "album_artist"),
        cover_stream_index=container.cover_stream_index,
        peaks=tuple(peaks),
    )


def _mono_meter(bin_samples=PEAK_BIN_SAMPLES):
    """A PeakMeter for a mono signal fed as (n/2, 2) pairs of consecutive samples.

    PeakMeter bins stereo frames; a mono signal viewed as pairs, with half the bin
    size, bins the same samples, without copying each sample into two channels
    (that copy tripled the cost of the count on a 5-minute MP3).
    """
    meter = PeakMeter(max(1, bin_samples // CHANNELS))
    meter.odd = np.zeros(0, np.float32)  # a sample left over from the last odd-length block
    return meter


def _feed(meter, mono):
    samples = np.concatenate([meter.odd, mono]) if len(meter.odd) else mono
    whole = len(samples) // CHANNELS * CHANNELS
    meter.odd = samples[whole:]
    meter.add(samples[:whole].reshape(-1, CHANNELS))


def _peaks(meter):
    if len(meter.odd):
        meter.add(np.repeat(meter.odd, CHANNELS)[None, :])  # the last sample, as a frame of its own
    return meter.peaks


_PEAK_ARITHMETIC = {
    "PCM_U8": ("int16", np.int32, 2.0**15),
    "PCM_16": ("int16", np.int32, 2.0**15),
    "FLOAT": ("float64", np.float64, 1.0),
    "DOUBLE": ("float64", np.float64, 1.0),
}


def _wav_peaks(path):
    """A plain WAV's waveform peaks: per bin, the largest magnitude of the channels' mean.

    The same peaks, to the last digit, as converting to float and averaging (the first
    version), which took 0.68 s of the 0.84 s it cost to receive a 100 MB WAV: here the
    channels of each block are summed exactly, integer samples in a type twice as wide
    (0.06 s for that 16-bit WAV).
    """
    with soundfile.SoundFile(path) as wav:
        # A bin spans the same time as one of the stems' bins, at the file's own rate.
        bin_frames = max(1, round(PEAK_BIN_SAMPLES * wav.samplerate / SAMPLE_RATE) // CHANNELS) * CHANNELS
        # (read as, summed in, full scale): libsndfile scales integer samples to the range of
        # the type they are read as.
        read_as, summed_in, full_scale = _PEAK_ARITHMETIC.get(wav.subtype, ("int32", np.int64, 2.0**31))
        full_scale *= wav.channels
        peaks = []
        # Whole bins per block, so only the last block can end with a partial bin.
        for block in wav.blocks(blocksize=bin_frames * 256, dtype=read_as, always_2d=True):
            total = block[:, 0].astype(summed_in)
            for channel in range(1, wav.channels):
                total += block[:, channel]
            np.abs(total, out=total)
            whole = len(total) // bin_frames * bin_frames
            if whole:
                peaks.extend(total[:whole].reshape(-1, bin_frames).max(axis=1).tolist())
            if whole < len(total):
                peaks.append(total[whole:].max().item())
    return written_peaks(peak / full_scale for peak in peaks)


def _ffprobe(path):
    result = _run(
        [
            settings.FFPROBE_BINARY,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
    )
    if result.returncode != 0:
        raise NotAudioError("The file is not an audio file we can read.")
    info = json.loads(result.stdout or b"{}")
    streams = info.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise NotAudioError("The file contains no audio stream.")
    stream = audio[0]
    fmt = info.get("format", {})
    return _Container(
        codec=stream.get("codec_name", ""),
        format_name=fmt.get("format_name", ""),
        declared=_float(stream.get("duration")) or _float(fmt.get("duration")),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        tags={**fmt.get("tags", {}), **stream.get("tags", {})},
        cover_stream_index=next(
            (
                s["index"]
                for s in streams
                if s.get("codec_type") == "video" and s.get("disposition", {}).get("attached_pic")
            ),
            None,
        ),
    )


def _read_plain_wav(path):
    """The headers of a little-endian PCM WAV file read in-process, or None to ask ffprobe.

    Starting ffprobe costs ~70 ms here, the better part of receiving a 100 MB WAV;
    libsndfile reads the same facts (and RIFF INFO tags) in well under a
    millisecond. Only files with nothing ffprobe would find more in qualify: an
    ID3 chunk (tags, cover art) or any other format goes to ffprobe.

    libsndfile counts the frames of the first data chunk present in the file, and
    for a file with one data chunk of a stated size that is exactly what ffmpeg
    decodes. ffmpeg goes on to decode any further data chunks, and reads a chunk
    sized 0 or 0xFFFFFFFF to the end of the file: such files are measured by
    decoding them, like every other format.
    """
    try:
        with open(path, "rb") as raw:
            if raw.read(4) != b"RIFF":
                return None
            chunks = _wav_chunks(raw)
            ids = [chunk_id for chunk_id, _ in chunks]
            data_sizes = [size for chunk_id, size in chunks if chunk_id == b"data"]
            if set(ids) & ID3_CHUNK_IDS or len(data_sizes) != 1 or data_sizes[0] in (0, 0xFFFFFFFF):
                return None
        with soundfile.SoundFile(path) as wav:
            codec = WAV_PCM_CODECS.get(wav.subtype)
            if wav.format not in ("WAV", "WAVEX") or codec is None or not wav.frames:
                return None
            return _Container(
                codec=codec,
                format_name="wav",
                declared=wav.frames / wav.samplerate,
                sample_rate=wav.samplerate,
                channels=wav.channels,
                tags={name: value for name, value in wav.copy_metadata().items() if value},
                cover_stream_index=None,
                exact=True,
            )
    except (OSError, RuntimeError, struct.error):  # libsndfile's errors are RuntimeErrors
        return None


def _wav_chunks(raw):
    """(id, size) of each top-level chunk of a RIFF file, ``raw`` positioned after "RIFF"."""
    raw.seek(8)
    if raw.read(4) != b"WAVE":
        raise OSError("not a WAVE file")
    chunks = []
    while len(header := raw.read(8)) == 8:
        chunk_id, size = struct.unpack("<4sI", header)
        chunks.append((chunk_id, size))
        raw.seek(size + size % 2, os.SEEK_CUR)  # chunks are padded to an even size
    return chunks


def _too_long_message(seconds, max_seconds):
    return f"The audio is {_minutes(seconds)} long; the limit is {_minutes(max_seconds)}."


def _decodes_too_long_message(declared, max_seconds):
    said = f", although the file says it lasts {_minutes(declared)}" if declared else ""
    return (
        f"The audio is longer than the limit of {_minutes(max_seconds)}: "
        f"it decodes past {_minutes(max_seconds + 1)}{said}."
    )


def _minutes(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _decoded_seconds(path, stop_after=None, meter=None):
    """Decode the first audio stream and count the samples that come out, in seconds.

    Only the count can be trusted: ffmpeg's own clock (``-t``, ``-progress``) follows
    the stream's timestamps, which a crafted file repeats (a FLAC with its frames
    appended read as 60 s while 600 s decoded), and a filter that renumbers them by
    samples (``asetpts``) starts again at every change of sample rate. Reading
    stops, and ffmpeg is killed, once the count passes ``stop_after``. ``meter``
    (a PeakMeter), if given, sees every sample counted.
    """
    command = [
        settings.FFMPEG_BINARY,
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(COUNT_RATE),
        "-f",
        "s16le",
        "-c:a",
        "pcm_s16le",
        "pipe:1",
    ]
    stop_bytes = None if stop_after is None else math.ceil(stop_after * COUNT_RATE) * COUNT_BYTES_PER_SAMPLE
    counted = 0
    # stderr goes to a file: a pipe nobody reads fills up and stalls ffmpeg on a noisy file.
    with tempfile.TemporaryFile() as ffmpeg_log:
        process = _start(command, stdout=subprocess.PIPE, stderr=ffmpeg_log)
        expired = threading.Event()

        def expire():
            expired.set()
            _kill_group(process)

        timer = threading.Timer(_timeout(), expire)
        timer.start()
        try:
            buffer = bytearray(COUNT_READ_BYTES)
            odd = b""  # a read may end inside a sample: its first byte waits for the next read
            while read := process.stdout.readinto(buffer):
                counted += read
                if stop_bytes is not None and counted > stop_bytes:
                    break
                if meter is not None:
                    data = odd + bytes(memoryview(buffer)[:read])
                    whole = len(data) // COUNT_BYTES_PER_SAMPLE * COUNT_BYTES_PER_SAMPLE
                    odd = data[whole:]
                    _feed(meter, np.frombuffer(data[:whole], "<i2").astype(np.float32) * (1 / 32768))
            stopped = stop_bytes is not None and counted > stop_bytes
            if stopped:
                _kill_group(process)
            returncode = process.wait()
        finally:
            timer.cancel()
            _kill_group(process)
            process.wait()
            process.stdout.close()
        if expired.is_set() and not stopped:
            raise _timed_out()
        if returncode != 0 and not stopped:
            ffmpeg_log.seek(0)
            logger.info("ffmpeg could not decode %s: %s", path, ffmpeg_log.read()[-500:])
    return counted / COUNT_BYTES_PER_SAMPLE / COUNT_RATE


def extract_cover(path, stream_index):
    """Return the embedded cover picture's bytes, or None."""
    try:
        result = _run(
            [
                settings.FFMPEG_BINARY,
                "-nostdin",
                "-v",
                "error",
                "-i",
                str(path),
                "-map",
                f"0:{stream_index}",
                "-frames:v",
                "1",
                "-c:v",
                "png",
                "-f",
                "image2pipe",
                "-",
            ],
        )
    except NotAudioError:
        # The audio is already proven; a cover that takes too long is simply left out.
        logger.info("Gave up extracting the cover of %s", path)
        return None
    if result.returncode != 0 or not result.stdout:
        return None
    return result.stdout
