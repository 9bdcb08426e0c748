"""A job whose model is missing or whose audio is gone fails with a clear reason and leaves nothing behind."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from separation.models import SeparationJob
from separation.services import request_separation
from separation.tasks import run_job
from tests.helpers import files_under


@pytest.fixture
def queued_job(alice, song_wav):
    with open(song_wav, "rb") as f:
        track = ingest(alice, SimpleUploadedFile("a.wav", f.read())).track
    job, _ = request_separation(sha256=track.sha256, source=track.original.name, model="2stems", user=alice)
    return job


def test_a_missing_checkpoint_fails_the_job_with_how_to_fix_it(queued_job, settings, tmp_path, isolated_media):
    settings.SPLEETER_MODEL_PATH = tmp_path / "empty-models"
    (settings.SPLEETER_MODEL_PATH / "2stems").mkdir(parents=True)  # a folder, but no checkpoint in it
    run_job(str(queued_job.pk))
    job = SeparationJob.objects.get(pk=queued_job.pk)
    assert job.status == "failed"
    assert "not installed" in job.error
    assert "install_models" in job.error
    assert job.stems.count() == 0
    assert not [f for f in files_under(isolated_media.MEDIA_ROOT) if f.startswith("stems/")]
    assert not list(isolated_media.FILE_UPLOAD_TEMP_DIR.glob("job-*"))


def test_a_job_runs_only_once_even_if_delivered_twice(queued_job, settings, tmp_path):
    settings.SPLEETER_MODEL_PATH = tmp_path / "empty-models"
    run_job(str(queued_job.pk))
    first = SeparationJob.objects.get(pk=queued_job.pk)
    run_job(str(queued_job.pk))  # the broker hands out the same task again
    again = SeparationJob.objects.get(pk=queued_job.pk)
    assert again.attempts == first.attempts == 1
    assert again.finished_at == first.finished_at
