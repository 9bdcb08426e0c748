"""Separate one audio file into stems, with no database rows and no job queue.

    python manage.py separate SONG [--model 2stems] [--out DIR] [--web]

Uses the same engine as the background workers and writes DIR/vocals.flac and
DIR/accompaniment.flac (drums/bass/piano/other too for 4stems and 5stems); DIR defaults to
./separated/<song name>/. The model must be installed first (``manage.py install_models``).
A file that is not audio, or a missing model, ends the command with one line and exit status 1.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from separation.engines import EngineError
from separation.models_install import MODELS
from separation.pipeline import separate_file


class Command(BaseCommand):
    help = "Separate an audio file into stems (FLAC) with Spleeter."

    def add_arguments(self, parser):
        parser.add_argument("song", type=Path, help="any audio file ffmpeg can read")
        parser.add_argument("--model", choices=MODELS, default="2stems")
        parser.add_argument("--out", type=Path, help="folder for the stems (default: ./separated/<song name>/)")
        parser.add_argument(
            "--web", action="store_true", help="also write what the web player uses: MP3 copies and waveform peaks"
        )

    def handle(self, *args, song, model, out, web, **options):
        out = out or Path("separated") / song.stem
        started = time.monotonic()
        progress = ProgressBar(self.stderr)
        try:
            result = separate_file(song, model, out, on_progress=progress.show, browser_files=web)
        except EngineError as exc:
            progress.end()
            raise CommandError(str(exc)) from None
        except OSError as exc:
            progress.end()
            raise CommandError(f"Cannot write the stems into {out}: {exc.strerror or exc}") from None
        progress.end()
        elapsed = time.monotonic() - started
        self.stdout.write(f"Separated {song.name} ({result.duration:.1f} s of audio) in {elapsed:.1f} s:")
        for files in result.stems.values():
            for path in (files.lossless, files.compressed, files.peaks):
                if path:
                    self.stdout.write(f"  {path}")
        if result.mixture_peaks:
            self.stdout.write(f"  {result.mixture_peaks}")


class ProgressBar:
    """A one-line bar redrawn in place, on stderr so stdout keeps only the result."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.drawn = False

    def show(self, fraction):
        filled = int(fraction * self.WIDTH)
        percent = int(fraction * 100)  # rounding would show 100% before the last segment is done
        self.stream.write(f"\rSeparating [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%", ending="")
        self.stream.flush()
        self.drawn = True
        if fraction >= 1:
            self.end()

    def end(self):
        if self.drawn:
            self.stream.write("")
            self.drawn = False
