"""Temp files a killed process left behind are removed at start-up and on a schedule; live ones stay."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django_q.models import Schedule

from platform.tempfiles import remove_stale_temp_files

REPO = Path(__file__).resolve().parent.parent
TWO_HOURS = 2 * 3600


def written(path, seconds_ago=0, content=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - seconds_ago
    os.utime(path, (then, then))
    os.utime(path.parent, (then, then))
    return path


def make_leftovers(folder):
    """What a killed web worker, a killed mixdown and a running separation leave in the temp folder."""
    stale = [
        written(folder / "tmpkilled.upload.mp3", TWO_HOURS),  # Django's upload temp file
        written(folder / "tmpspooled.upload", TWO_HOURS),  # ingest's spooled copy
        written(folder / "mixdown-dead" / "mix.flac", TWO_HOURS).parent,
    ]
    kept = [
        written(folder / "tmplive.upload.flac"),  # an upload still arriving
        written(folder / "mixdown-live" / "mix.flac").parent,
        # A separation's scratch: only the job recovery knows whether its job still runs.
        written(folder / "job-1234abcd-xyz" / "vocals.flac", TWO_HOURS).parent,
        written(folder / "notes.txt", TWO_HOURS),
    ]
    return {"stale": stale, "kept": kept}


def test_stale_uploads_and_mixdown_scratch_go_live_files_and_job_folders_stay(settings):
    leftovers = make_leftovers(Path(settings.FILE_UPLOAD_TEMP_DIR))
    assert remove_stale_temp_files() == 3
    assert not any(path.exists() for path in leftovers["stale"])
    assert all(path.exists() for path in leftovers["kept"])


def test_a_new_web_server_process_sweeps_the_temp_folder(tmp_path):
    leftovers = make_leftovers(tmp_path / "tmp")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(STEMROOM_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="platform.settings")
    subprocess.run([sys.executable, "-c", "import platform.wsgi"], cwd=REPO, env=env, check=True, timeout=120)
    assert not any(path.exists() for path in leftovers["stale"])
    assert all(path.exists() for path in leftovers["kept"])


def test_the_task_queue_sweeps_every_15_minutes(db):
    schedule = Schedule.objects.get(func="platform.tempfiles.remove_stale_temp_files")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 15, -1)
