"""Progressive stems: the separated audio so far, as numbered lossless chunks a player can queue.

While a job runs, the pipeline cuts every stem into chunks of ``CHUNK_FRAMES`` (the last one
shorter) and the worker stores each as a 16-bit WAV, with a small JSON sidecar holding that
stretch's waveform peaks, before it advances the job's ``ready_frames``. The chunks are the
FLAC's own 16-bit samples (``audio.to_pcm16``), so joined they equal the final stem sample
for sample; and they start on peak-bin borders, so their peaks joined equal the final
``<stem>.peaks.json``.

Storage layout, under the job's storage prefix::

    chunks/<run>/<stem>/00000.wav     16-bit PCM stereo 44.1 kHz, CHUNK_FRAMES frames
    chunks/<run>/00000.json           {"start", "frames", "last", "peaks": {stem: [...]}, "mixture_peaks": [...]}

``<run>`` is the run's start time (``SeparationJob.chunks_folder``): a worker that was taken
for dead but still runs writes into its own folder, never over the chunks of the run that
replaced it, and removes only its own when it finds the job gone.
"""

import contextlib
import json
import logging
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from separation import audio
from separation.engines.base import CHANNELS, SAMPLE_RATE

logger = logging.getLogger(__name__)

# 196 peak bins (11.76 s): the most whole bins that Spleeter's first 512-frame segment
# fills (524,288 samples less its 4,096-sample leading frame), so the first chunk is out
# with the first segment, and every later segment finishes at least one more.
CHUNK_FRAMES = 196 * audio.PEAK_BIN_SAMPLES


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # first frame, counted from the start of the song
    frames: int
    pcm16: dict  # stem name -> (frames, 2) int16
    peaks: dict  # stem name -> this chunk's waveform peaks
    mixture_peaks: list
    last: bool


class Chunker:
    """Cuts stem blocks of any size into chunks; fed the float blocks and their 16-bit samples.

    A chunk leaves only once audio past it has arrived (or at ``finish``), so the one marked
    ``last`` is never empty. ``mixture_meter`` is the PeakMeter the decoded mixture passes
    through; decoding runs ahead of separation, so it already holds every bin a chunk covers.
    """

    def __init__(self, stem_names, mixture_meter, chunk_frames=CHUNK_FRAMES):
        if chunk_frames % audio.PEAK_BIN_SAMPLES:
            raise ValueError("chunks must hold whole peak bins")
        self.stem_names = stem_names
        self.chunk_frames = chunk_frames
        self._mixture = mixture_meter
        self._float = {name: [] for name in stem_names}
        self._pcm = {name: [] for name in stem_names}
        self._buffered = 0
        self._index = 0
        self._start = 0

    def add(self, block, pcm16):
        for name in self.stem_names:
            self._float[name].append(block[name])
            self._pcm[name].append(pcm16[name])
        self._buffered += len(block[self.stem_names[0]])
        while self._buffered > self.chunk_frames:
            yield self._cut(self.chunk_frames, last=False)

    def finish(self):
        if self._buffered:
            yield self._cut(self._buffered, last=True)

    def _cut(self, frames, last):
        floats, pcm = {}, {}
        for name in self.stem_names:
            whole_float, whole_pcm = np.concatenate(self._float[name]), np.concatenate(self._pcm[name])
            floats[name], pcm[name] = whole_float[:frames], whole_pcm[:frames]
            self._float[name], self._pcm[name] = [whole_float[frames:]], [whole_pcm[frames:]]
        first_bin = self._start // audio.PEAK_BIN_SAMPLES
        mixture = self._mixture.bins(first_bin, None if last else frames // audio.PEAK_BIN_SAMPLES)
        chunk = Chunk(
            index=self._index,
            start=self._start,
            frames=frames,
            pcm16=pcm,
            peaks={name: audio.peaks(floats[name]) for name in self.stem_names},
            mixture_peaks=mixture,
            last=last,
        )
        self._buffered -= frames
        self._start += frames
        self._index += 1
        return chunk


def chunk_count(ready_frames, chunk_frames=CHUNK_FRAMES):
    return -(-ready_frames // chunk_frames)


def audio_name(folder, stem, index):
    return f"{folder}/{stem}/{index:05d}.wav"


def sidecar_name(folder, index):
    return f"{folder}/{index:05d}.json"


class ChunkStore:
    """Stores one run's chunks (worker side); ``discard`` removes them all."""

    def __init__(self, folder, storage=default_storage):
        self.folder = folder
        self.storage = storage

    def save(self, chunk):
        for name, pcm in chunk.pcm16.items():
            self._save(audio_name(self.folder, name, chunk.index), audio.wav_bytes(pcm))
        sidecar = {
            "start": chunk.start,
            "frames": chunk.frames,
            "last": chunk.last,
            "peaks": chunk.peaks,
            "mixture_peaks": chunk.mixture_peaks,
        }
        # The sidecar goes last: a chunk whose sidecar exists has all its audio stored.
        self._save(sidecar_name(self.folder, chunk.index), json.dumps(sidecar, separators=(",", ":")).encode())

    def _save(self, name, data):
        stored = self.storage.save(name, ContentFile(data))
        if stored != name:
            # Only this run writes this folder; another file here means it is not ours to use.
            self.storage.delete(stored)
            raise RuntimeError(f"{name} already exists")

    def discard(self):
        delete_tree(self.folder, self.storage)


def delete_tree(folder, storage=default_storage):
    """Remove every file under ``folder`` in the storage (and, on local disk, the emptied folders)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in folders:
        delete_tree(f"{folder}/{name}", storage)
    for name in files:
        try:
            storage.delete(f"{folder}/{name}")
        except OSError:
            logger.exception("Could not remove %s/%s", folder, name)
    with contextlib.suppress(OSError):
        storage.delete(folder)  # local storage removes an empty folder; S3 has none to remove


def manifest(job, status, url):
    """What a player needs to queue the ready chunks of ``job`` as ``status`` (as the viewer sees it).

    ``url(stem, index)`` gives a chunk's address. Only chunks below the job's ``ready_frames``
    are listed: those are known to be stored whole.
    """
    succeeded = status == job.Status.SUCCEEDED
    ready_frames = job.ready_frames_now(status)
    data = {
        "status": status,
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
        "ready_frames": ready_frames,
        "ready_seconds": ready_frames / SAMPLE_RATE,
        "complete": succeeded,
        "stems": {name: [] for name in job.stem_names},
        "mixture_peaks": [],
    }
    if not job.chunks_available(status):
        return data
    for index in range(chunk_count(job.ready_frames)):
        try:
            with default_storage.open(sidecar_name(job.chunks_folder, index), "rb") as f:
                sidecar = json.load(f)
        except FileNotFoundError:
            break  # swept (or the job restarted) while we read: list what was there
        for name in job.stem_names:
            data["stems"][name].append(
                {
                    "index": index,
                    "start": sidecar["start"],
                    "frames": sidecar["frames"],
                    "url": url(name, index),
                    "peaks": sidecar["peaks"][name],
                }
            )
        data["mixture_peaks"].extend(sidecar["mixture_peaks"])
        data["complete"] = data["complete"] or sidecar["last"]
    return data
