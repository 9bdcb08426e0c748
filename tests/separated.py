"""A track with a finished 2stems separation, made without running the model.

The stems are real audio files (two tones) written where a worker would put
them, so everything downstream -- remixes, mixdowns, sharing -- runs for real.
"""

import json

import numpy as np
import soundfile
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from separation.models import SeparationJob, SeparationRequest, Stem
from tests.audio_files import ffmpeg, make_audio

RATE = 44100


def tone(freq, seconds, amplitude, right_scale=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave * right_scale], axis=1)


def separated_track(owner, folder, seconds=2.0, cover=False):
    song = make_audio(
        folder / f"song-{owner.username}.mp3", seconds=seconds, freq=220, cover=cover, title="Shared Song"
    )
    with open(song, "rb") as f:
        track = ingest(owner, SimpleUploadedFile(song.name, f.read())).track
    job = SeparationJob.objects.filter(sha256=track.sha256).first() or SeparationJob.objects.create(
        sha256=track.sha256,
        source=track.original.name,
        model="2stems",
        status="succeeded",
        progress=100,
        duration=seconds,
    )
    SeparationRequest.objects.get_or_create(user=owner, job=job)  # the owner asked for these stems
    if not job.stems.exists():
        signals = {"vocals": tone(440, seconds, 0.3, right_scale=0.5), "accompaniment": tone(110, seconds, 0.2)}
        for name, samples in signals.items():
            flac = folder / f"{job.pk.hex}-{name}.flac"
            mp3 = folder / f"{job.pk.hex}-{name}.mp3"
            soundfile.write(flac, samples, RATE, subtype="PCM_16")
            ffmpeg("-i", flac, "-c:a", "libmp3lame", "-b:a", "128k", mp3)
            stem = Stem(job=job, name=name, duration=seconds)
            stem.lossless.save(f"{job.storage_prefix}/{name}.flac", ContentFile(flac.read_bytes()), save=False)
            stem.compressed.save(f"{job.storage_prefix}/{name}.mp3", ContentFile(mp3.read_bytes()), save=False)
            stem.peaks.save(f"{job.storage_prefix}/{name}.peaks.json", ContentFile(json.dumps([0.3] * 33)), save=False)
            stem.save()
    return track, job
