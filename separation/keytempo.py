"""Key and tempo change (issue 12): a separation's accompaniment and vocals rendered by Rubber Band.

A ``StemVersion`` is a background job like a separation (``separation.jobs``). Its
worker runs one ffmpeg per stem, both at once, through ffmpeg's ``rubberband`` filter
(librubberband), into the same MP3 rendition the players stream for the original stems.
Both stems get the same tempo and pitch settings, so they stay in step with each other
and with the original timeline scaled by 100 / tempo (the filter compensates Rubber
Band's latency: tests/test_keytempo_render.py measures it).

Rubber Band options, chosen for a singer practising over the result:
- ``pitchq=quality``: the highest-quality pitch shifter (speed costs little here);
- ``channels=together``: the stereo image survives the shift;
- ``formant=preserved`` on the vocals only: a guide voice moved a few semitones keeps its
  timbre instead of sounding like a chipmunk; instruments shift their formants with the
  pitch, as a real transposition would.
"""

import logging
import subprocess
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from platform.storage import local_copy

from . import jobs
from .audio import BROWSER_CODEC_ARGS
from .engines.base import EngineError
from .models import VERSION_STEMS, StemVersion

logger = logging.getLogger(__name__)

PROGRESS_POLL_SECONDS = 0.5
FORMANTS = {"vocals": "preserved", "accompaniment": "shifted"}


class TooManyVersions(Exception):
    def __init__(self, limit):
        super().__init__(
            f"You have {limit} key and tempo change{'s' if limit != 1 else ''} rendering; "
            "wait for one to finish before asking for another."
        )
        self.limit = limit


def is_original(semitones, tempo):
    """The original stems already are this version: nothing to render."""
    return semitones == 0 and tempo == 100


def request_version(job, *, semitones, tempo, user=None, max_in_flight=None):
    """Return (version, started): the shared version of ``job`` at this key and tempo, queued if it was not there.

    A failed or cancelled one is queued again; one whose worker died is recovered.
    ``max_in_flight``: refuse (TooManyVersions) when ``user`` already waits for that many
    versions they started; asking for one that exists or is on its way never counts.
    """
    with transaction.atomic():
        if user is not None:
            # Counting someone's renders and adding one happen as one step (as separation.services does).
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        version = StemVersion.objects.filter(job=job, semitones=semitones, tempo=tempo).first()
        if version is not None and version.is_orphaned():
            version.recover()
            version.refresh_from_db()
        if version is not None and version.status in StemVersion.LIVE:
            return version, False
        _check_cap(user, max_in_flight)
        if version is None:
            try:
                with transaction.atomic():
                    version = StemVersion.objects.create(job=job, semitones=semitones, tempo=tempo, requested_by=user)
            except IntegrityError:
                # Someone asked for the same version a moment ago.
                return StemVersion.objects.get(job=job, semitones=semitones, tempo=tempo), False
        else:
            if not version.retry():
                version.refresh_from_db()
                return version, False
            StemVersion.objects.filter(pk=version.pk).update(requested_by=user)
            version.refresh_from_db()
        version.enqueue()
    return version, True


def _check_cap(user, max_in_flight):
    if user is None or max_in_flight is None:
        return
    if StemVersion.objects.unfinished().filter(requested_by=user).count() >= max_in_flight:
        raise TooManyVersions(max_in_flight)


# ---- The worker's side ------------------------------------------------------


def run_version(version_id):
    jobs.run(StemVersion, version_id, _render)


def _render(version):
    stems = {stem.name: stem for stem in version.job.stems.filter(name__in=VERSION_STEMS)}
    missing = [name for name in VERSION_STEMS if name not in stems]
    if missing:
        raise EngineError(f"the separation has no {' or '.join(missing)} stem to change.")
    duration = max(stem.duration for stem in stems.values()) * 100 / version.tempo
    with jobs.scratch_folder(version) as work:
        outputs = render_stems(
            {
                name: local_copy(default_storage, stem.lossless.name, work / f"source-{name}.flac")
                for name, stem in stems.items()
            },
            work,
            semitones=version.semitones,
            tempo=version.tempo,
            expected_seconds=duration,
            on_progress=lambda fraction: _report(version, fraction),
        )
        files = {name: (version.storage_name(name), path) for name, path in outputs.items()}
        jobs.store_and_succeed(version, files, duration=duration)


def _report(version, fraction):
    if not version.report_progress(round(99 * fraction)):
        raise jobs.JobCancelled()


def rubberband_filter(stem, semitones, tempo):
    options = {
        "tempo": f"{tempo / 100:.6f}",
        "pitch": f"{2 ** (semitones / 12):.9f}",
        "pitchq": "quality",
        "channels": "together",
        "formant": FORMANTS.get(stem, "shifted"),
    }
    return "rubberband=" + ":".join(f"{key}={value}" for key, value in options.items())


def render_stems(sources, work, *, semitones, tempo, expected_seconds, on_progress=lambda fraction: None):
    """Render every {stem: audio path} at ``semitones`` and ``tempo`` % into ``work``/<stem>.mp3.

    One ffmpeg per stem, all at once; ``on_progress(fraction)`` about twice a second
    from ffmpeg's own ``-progress`` reports (the output time each has written).
    Raises EngineError with ffmpeg's reason when one fails; whatever raises (a
    cancelled job too) stops the others.
    """
    running = {}
    try:
        for name, source in sources.items():
            target = work / f"{name}.mp3"
            progress = work / f"{name}.progress"
            command = [
                settings.FFMPEG_BINARY,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(source),
                "-vn",
                "-af",
                rubberband_filter(name, semitones, tempo),
                "-ar",
                "44100",
                "-ac",
                "2",
                *BROWSER_CODEC_ARGS,
                "-progress",
                str(progress),
                str(target),
            ]
            stderr = open(work / f"{name}.stderr", "w+b")  # noqa: SIM115 -- closed in finally
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
            running[name] = (process, target, progress, stderr)
        while any(process.poll() is None for process, *_ in running.values()):
            time.sleep(PROGRESS_POLL_SECONDS)
            done = [_written_seconds(progress) for _, _, progress, _ in running.values()]
            on_progress(min(1.0, sum(done) / (len(done) * max(expected_seconds, 1e-6))))
        for name, (process, _, _, stderr) in running.items():
            if process.returncode != 0:
                stderr.seek(0)
                raise EngineError(_ffmpeg_reason(name, stderr.read().decode(errors="replace")))
        on_progress(1.0)
        return {name: target for name, (_, target, _, _) in running.items()}
    finally:
        for process, _, _, stderr in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            stderr.close()


def _written_seconds(progress_file):
    """The output time ffmpeg last reported in its ``-progress`` file (``out_time_us`` is microseconds)."""
    try:
        text = progress_file.read_text()
    except FileNotFoundError:
        return 0.0
    for line in reversed(text.splitlines()):
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            return max(0, int(value)) / 1e6
    return 0.0


def _ffmpeg_reason(stem, stderr):
    if "No such filter: 'rubberband'" in stderr:
        return (
            "this server's ffmpeg has no rubberband filter. The administrator needs an ffmpeg built "
            "with librubberband (Debian's is)."
        )
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no reason given"
    return f"ffmpeg could not render the {stem} ({last})."
