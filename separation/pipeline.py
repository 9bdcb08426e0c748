"""From one audio file to stem files: decode, separate, write FLAC (+ MP3 and peaks), all streaming.

Shared by ``manage.py separate`` and the background job; it knows files, not database rows.
Every file is written under a temporary name and renamed only once all of them are complete,
so a failure (or a cancelled job) never leaves a file that looks finished.
"""

import json
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from separation import audio
from separation.chunks import Chunker
from separation.engines import SAMPLE_RATE, EngineError, get_engine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StemFiles:
    lossless: Path  # <stem>.flac
    compressed: Path | None  # <stem>.mp3, for the browser
    peaks: Path | None  # <stem>.peaks.json: a list of max-abs floats, ~1000 per minute
    duration: float


@dataclass(frozen=True)
class SeparationResult:
    stems: dict[str, StemFiles]
    mixture_peaks: Path | None
    duration: float


def separate_file(source, model, out_dir, on_progress=None, browser_files=True, max_seconds=None, on_chunk=None):
    """Separate ``source`` with ``model`` into files in ``out_dir``.

    Always writes <stem>.flac; with ``browser_files`` also <stem>.mp3, <stem>.peaks.json and
    mixture.peaks.json (what the web player needs). Raises EngineError (AudioError for a file
    that is not audio) with a message meant for end users. With ``max_seconds`` (the length
    measured at upload, plus a margin) decoding stops as soon as the audio goes past it, and
    audio.TooLongError is raised: the worker never separates more than was allowed.

    ``on_chunk(chunk)`` receives the stems made so far as progressive chunks
    (separation.chunks.Chunk), in order, while separation goes on; it may raise to stop it.

    Everything is made while the engine runs: the FLAC, the MP3 (one ffmpeg per stem fed
    the FLAC's own 16-bit samples) and the peaks; after the last segment only the encoders'
    last frames remain.
    """
    source, out_dir = Path(source), Path(out_dir)
    # Probing first turns a non-audio file away in milliseconds, before the model loads.
    info = audio.probe(source)
    engine = get_engine(model)
    expected = info.duration
    if max_seconds is not None:
        # Progress runs to what may be separated at most, whatever the header claims.
        expected = min(expected, max_seconds) if expected else max_seconds
    total_samples = round(expected * SAMPLE_RATE) if expected else None
    names = engine.stem_names
    out_dir.mkdir(parents=True, exist_ok=True)

    def target(filename):
        return out_dir / filename, out_dir / f".{filename}.part"

    flacs = {name: target(f"{name}.flac") for name in names}
    mp3s = {name: target(f"{name}.{audio.BROWSER_FORMAT}") for name in names} if browser_files else {}
    peak_files = {name: target(f"{name}.peaks.json") for name in [*names, "mixture"]} if browser_files else {}
    meters = {name: audio.PeakMeter() for name in [*names, "mixture"]}
    every_file = [*flacs.values(), *mp3s.values(), *peak_files.values()]
    chunker = Chunker(names, meters["mixture"]) if on_chunk else None

    try:
        with ExitStack() as open_files:
            writers = {name: open_files.enter_context(audio.FlacWriter(flacs[name][1])) for name in names}
            encoders = {name: _started(open_files, mp3s[name][1]) for name in mp3s}
            mixture = _metered(
                audio.read_blocks(source, source_channels=info.channels, max_seconds=max_seconds), meters["mixture"]
            )
            for block in engine.separate_stream(mixture, total_samples, on_progress):
                pcm16 = {name: audio.to_pcm16(samples) for name, samples in block.items()}
                for name, samples in block.items():
                    writers[name].write_pcm16(pcm16[name])
                    if name in encoders:
                        encoders[name].write_pcm16(pcm16[name])
                    meters[name].add(samples)
                if chunker:
                    for chunk in chunker.add(block, pcm16):
                        on_chunk(chunk)
            if chunker:
                for chunk in chunker.finish():
                    on_chunk(chunk)
            _finish_encoders(encoders.values())
        if browser_files:
            for name, (_, partial) in peak_files.items():
                partial.write_text(json.dumps(meters[name].peaks, separators=(",", ":")))
        for final, partial in every_file:
            os.replace(partial, final)
    except BaseException:
        for _, partial in every_file:
            partial.unlink(missing_ok=True)
        raise

    duration = writers[names[0]].samples / SAMPLE_RATE
    logger.info("Separated %s (%.1f s of audio) with %s into %s", source.name, duration, model, out_dir)
    return SeparationResult(
        stems={
            name: StemFiles(
                lossless=flacs[name][0],
                compressed=mp3s[name][0] if browser_files else None,
                peaks=peak_files[name][0] if browser_files else None,
                duration=duration,
            )
            for name in names
        },
        mixture_peaks=peak_files["mixture"][0] if browser_files else None,
        duration=duration,
    )


def _metered(blocks, meter):
    for block in blocks:
        meter.add(block)
        yield block


def _started(open_files, destination):
    """A BrowserEncoder that is killed if the block ends before ``_finish_encoders`` ran."""
    encoder = audio.BrowserEncoder(destination)
    open_files.callback(encoder.abort)
    return encoder


def _finish_encoders(encoders):
    failures = []
    for encoder in encoders:
        try:
            encoder.finish()
        except EngineError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
