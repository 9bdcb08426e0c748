"""Audio in and out of the engine: ffmpeg decoding, FLAC and MP3 stems, waveform peaks.

Everything streams in blocks, so a long track never has to sit in memory whole.
"""

import contextlib
import io
import json
import logging
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from django.conf import settings

from separation.engines.base import CHANNELS, SAMPLE_RATE, EngineError

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = SAMPLE_RATE * 10
# ~1000 points per minute: fine enough for a full-width waveform, small enough to ship as JSON.
PEAK_BIN_SAMPLES = SAMPLE_RATE * 60 // 1000
# MP3 rather than AAC: the one lossy format every major browser decodes on every OS without
# relying on OS codecs (Chromium builds without proprietary codecs and Firefox on Linux
# without system FFmpeg cannot play AAC). CBR keeps seeking exact in <audio>; 192k is
# transparent enough for listening to stems, and LAME is faster here than FFmpeg's AAC.
BROWSER_FORMAT = "mp3"
# LAME's quality 7 ("-compression_level 7") encodes in half the time of its default at
# 192 kb/s with the same measured fidelity (~29-30 dB SNR on a vocal stem either way):
# the FLAC stays the master, this copy is for streaming. Plain left/right stereo
# ("-joint_stereo 0") spares LAME the mid/side analysis of every frame: 0.90 s of CPU a
# 3-minute stem against 1.29 s, for 0.05 dB less SNR on vocals and 0.2 dB on the
# accompaniment (29.94 and 29.02 dB), which nobody hears at 192 kb/s.
BROWSER_CODEC_ARGS = [
    "-c:a",
    "libmp3lame",
    "-b:a",
    "192k",
    "-compression_level",
    "7",
    "-joint_stereo",
    "0",
    "-f",
    "mp3",
]


class AudioError(EngineError):
    """The file is not audio that ffmpeg can decode."""


@dataclass(frozen=True)
class AudioInfo:
    duration: float | None  # seconds, as the container states it; None when it does not
    sample_rate: int
    channels: int
    codec: str


def probe(path):
    """Describe the first audio stream of ``path``; raises AudioError when there is none."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path} does not exist.")
    command = [
        settings.FFPROBE_BINARY,
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=codec_name,sample_rate,channels,duration:format=duration",
        "-of",
        "json",
        str(path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    streams = json.loads(result.stdout or "{}").get("streams") if result.returncode == 0 else None
    if not streams:
        logger.debug("ffprobe found no audio in %s: %s", path, result.stderr.strip())
        raise AudioError(f"{path.name} is not an audio file that can be read.")
    stream = streams[0]
    duration = stream.get("duration") or json.loads(result.stdout).get("format", {}).get("duration")
    return AudioInfo(
        duration=float(duration) if duration not in (None, "N/A") else None,
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        codec=stream.get("codec_name", "unknown"),
    )


class TooLongError(AudioError):
    """The audio decodes to more than the length it was measured at (and allowed for)."""


def read_blocks(path, block_samples=BLOCK_SAMPLES, source_channels=None, max_seconds=None) -> Iterator[np.ndarray]:
    """Decode the first audio stream of ``path`` to float32 (n, 2) blocks at 44.1 kHz.

    ffmpeg resamples (as Spleeter's own loader does, so results match its CLI) and downmixes
    more than two channels. Mono is decoded as mono and duplicated here, again as Spleeter
    does: ffmpeg's own mono-to-stereo upmix lowers the level by 3 dB, and the model's masks
    depend on level. ``source_channels`` saves a probe when the caller already made one.

    With ``max_seconds``, decoding stops one sample past it and raises TooLongError, before
    that block is yielded: a file that decodes to more than its upload measured (a crafted
    one, or one replaced on disk) never costs more than its measured length to process.
    """
    path = Path(path)
    if source_channels is None:
        source_channels = probe(path).channels
    channels = 1 if source_channels == 1 else CHANNELS
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
        str(channels),
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "-c:a",
        "pcm_f32le",
        "pipe:1",
    ]
    frame_bytes = channels * 4
    decoded = 0
    max_samples = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
    # stderr goes to a file: a pipe nobody reads fills up and stalls ffmpeg on a noisy file.
    with tempfile.TemporaryFile() as ffmpeg_log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=ffmpeg_log)
        try:
            while data := process.stdout.read(_next_block_samples(block_samples, decoded, max_samples) * frame_bytes):
                block = np.frombuffer(data[: len(data) - len(data) % frame_bytes], dtype="<f4").reshape(-1, channels)
                decoded += len(block)
                if max_samples is not None and decoded > max_samples:
                    raise TooLongError(
                        f"This audio goes on past {max_seconds:.1f} s, longer than it measured when it was "
                        "uploaded; it was not separated."
                    )
                yield np.repeat(block, CHANNELS, axis=1) if channels == 1 else block
            returncode = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        ffmpeg_log.seek(0)
        detail = ffmpeg_log.read().decode(errors="replace").strip()
    if returncode != 0:
        logger.warning("ffmpeg could not decode %s: %s", path, detail)
        raise AudioError(f"{path.name} is not an audio file that can be read.")
    if decoded == 0:
        raise AudioError(f"{path.name} contains no audio.")


def _next_block_samples(block_samples, decoded, max_samples):
    # Up to one sample past the limit: enough to know the audio goes on, and no more.
    if max_samples is None:
        return block_samples
    return max(1, min(block_samples, max_samples - decoded + 1))


def decode(path):
    """The whole of ``path`` as float32 (n, 2) at 44.1 kHz (for short files; long ones should stream)."""
    blocks = list(read_blocks(path))
    return np.concatenate(blocks)


def to_pcm16(block):
    """Float samples as the 16-bit integers libsndfile's FLAC writer makes of them.

    Scaled by 32768, rounded to nearest-even, clipped (libsndfile would wrap around past full
    scale). Converting once, here, lets the FLAC, the progressive WAV chunks and the MP3
    encoder's input be the very same samples: libsndfile's own WAV writer rounds floats
    differently from its FLAC writer.
    """
    scaled = np.rint(np.clip(block, -1.0, 1.0) * np.float32(32768))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def wav_bytes(pcm16):
    """A 16-bit PCM WAV file of ``pcm16`` (n, 2) int16, in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, pcm16, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class FlacWriter:
    """Writes a stem as 16-bit FLAC, block by block.

    16 bits is the resolution of the songs people upload; the rounding sits ~96 dB down,
    far below what separation itself leaves, and halves the storage of 24-bit.
    ``write`` takes float blocks, ``write_pcm16`` blocks already made by ``to_pcm16``.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.samples = 0
        self._file = soundfile.SoundFile(
            self.path, "w", samplerate=SAMPLE_RATE, channels=CHANNELS, format="FLAC", subtype="PCM_16"
        )

    def write(self, block):
        self.write_pcm16(to_pcm16(block))

    def write_pcm16(self, pcm16):
        self._file.write(pcm16)
        self.samples += len(pcm16)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_flac(path, audio):
    with FlacWriter(path) as writer:
        writer.write(audio)


def start_browser_copy(source, destination):
    """Start ffmpeg encoding ``source`` into the browser rendition at ``destination``; returns the process."""
    command = [settings.FFMPEG_BINARY, "-nostdin", "-v", "error", "-y", "-i", str(source), *BROWSER_CODEC_ARGS]
    return subprocess.Popen(
        [*command, str(destination)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _run_when_idle(pid):
    """Let ``pid`` use only CPU time nothing else wants.

    The encoders run beside the separation model, whose threads wait for each other at
    every operation: an encoder taking a core from one of them stalls them all (measured:
    a 3-minute job went from 5.6 s to 9.3 s on 2 cores). Scheduled as idle, they fill the
    gaps between the model's operations instead; ``_run_normally`` gives them their share
    back for what is left once the model is done.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux: they compete as they always did
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


def _run_normally(pid):
    # Back to the default policy, so a busy machine cannot starve the last frames. Needs
    # root or CAP_SYS_NICE (the container's worker runs as root); without it the encoder
    # stays idle-scheduled and finishes as CPU time frees up.
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        logger.debug("The encoder keeps its idle priority: %s", exc)


class BrowserEncoder:
    """Encodes the browser rendition while the stem is still being made: ffmpeg fed 16-bit PCM on stdin.

    The same encoder settings and the same 16-bit samples as the FLAC, so the file equals
    what encoding the finished FLAC gives, without waiting for it. A thread feeds the pipe,
    so a busy encoder never holds up separation; the queue is bounded so a stalled one
    cannot pile up memory.
    """

    def __init__(self, destination):
        command = [
            settings.FFMPEG_BINARY,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "s16le",
            "-ar",
            str(SAMPLE_RATE),
            "-ac",
            str(CHANNELS),
            "-i",
            "pipe:0",
            *BROWSER_CODEC_ARGS,
            str(destination),
        ]
        # stderr to a file: a pipe nobody reads could stall ffmpeg. Closed by finish/abort.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        _run_when_idle(self._process.pid)
        self._blocks = queue.Queue(maxsize=8)
        self._error = None
        self._finished = False
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="mp3-feeder")
        self._feeder.start()

    def _feed(self):
        try:
            while (block := self._blocks.get()) is not None:
                if self._error is None:
                    self._process.stdin.write(block)
        except OSError as exc:  # ffmpeg exited early (BrokenPipe): its log says why
            self._error = exc
            while self._blocks.get() is not None:  # keep draining so writers never block
                pass
        finally:
            with contextlib.suppress(OSError):
                self._process.stdin.close()

    def write_pcm16(self, pcm16):
        self._blocks.put(np.ascontiguousarray(pcm16, dtype="<i2").tobytes())

    def finish(self):
        """Wait for the file; raises EngineError if ffmpeg failed."""
        self._finished = True
        _run_normally(self._process.pid)
        self._blocks.put(None)
        self._feeder.join()
        returncode = self._process.wait()
        self._log.seek(0)
        detail = self._log.read().decode(errors="replace").strip()
        self._log.close()
        if returncode != 0 or self._error is not None:
            raise EngineError(f"Encoding the browser copy failed: {detail or self._error}")

    def abort(self):
        """Stop without a file (the job failed or was cancelled); nothing once ``finish`` ran."""
        if self._finished:
            return
        self._finished = True
        if self._process.poll() is None:
            self._process.kill()
        self._blocks.put(None)
        self._feeder.join(timeout=5)
        self._process.wait()
        self._log.close()


def wait_for_browser_copy(process):
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise EngineError(f"Encoding the browser copy failed: {stderr.decode(errors='replace').strip()}")


def encode_browser_copy(source, destination):
    wait_for_browser_copy(start_browser_copy(source, destination))


class PeakMeter:
    """Waveform peaks, fed block by block: the largest absolute sample (any channel) per bin."""

    def __init__(self, bin_samples=PEAK_BIN_SAMPLES):
        self.bin_samples = bin_samples
        self._peaks = []
        self._partial = np.zeros((0, CHANNELS), np.float32)

    def add(self, block):
        samples = np.concatenate([self._partial, block])
        whole = len(samples) // self.bin_samples * self.bin_samples
        if whole:
            # One row per bin, both channels in it: a reduction along a long axis is fast.
            bins = samples[:whole].reshape(-1, self.bin_samples * CHANNELS)
            self._peaks.extend(np.abs(bins).max(axis=1).tolist())
        self._partial = samples[whole:]

    @property
    def peaks(self):
        return self.bins(0)

    def bins(self, first, count=None):
        """The peaks of bins [first, first + count), or from ``first`` on, the partial last bin included.

        Rounding only those keeps a caller asking for each new stretch linear in the song's length.
        """
        stop = len(self._peaks) + 1 if count is None else first + count
        chosen = self._peaks[first:stop]
        if len(self._partial) and first <= len(self._peaks) < stop:
            chosen = [*chosen, float(np.abs(self._partial).max())]
        return written_peaks(chosen)


def written_peaks(peaks):
    """Peaks as every waveform file holds them: at most full scale, four decimals.

    Four decimals keep the JSON small; a waveform display cannot show more.
    """
    return [round(min(peak, 1.0), 4) for peak in peaks]


def peaks(audio, bin_samples=PEAK_BIN_SAMPLES):
    meter = PeakMeter(bin_samples)
    meter.add(audio)
    return meter.peaks
