import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from rest_framework.test import APIClient

from tests.audio_files import make_audio

# The real django-q2 worker cluster fixture, and the real S3 server for STORAGE=s3.
pytest_plugins = ["tests.workers", "tests.s3_server"]


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Every test stores media and temp uploads in its own folders, so leftovers are visible."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "upload-tmp"
    settings.MEDIA_ROOT.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return settings


@pytest.fixture(autouse=True)
def fresh_throttle_counts(request, django_db_blocker):
    """Every test that uses the database starts with no sign-in failures, bad tokens, sign-ups or
    uploads counted. Counters written by a transactional test are committed (the cache table is
    not a model, so the flush leaves it), and would otherwise throttle the tests after it."""
    names = set(request.fixturenames)
    if not ({"db", "transactional_db", "live_server"} & names or request.node.get_closest_marker("django_db")):
        return
    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        caches["throttles"].clear()


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", "alice@example.com", "correct horse battery")


@pytest.fixture
def bob(db):
    return User.objects.create_user("bob", "bob@example.com", "another good passphrase")


@pytest.fixture
def alice_api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_api(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def song_mp3(audio_dir):
    return make_audio(audio_dir / "song.mp3", seconds=4, title="Morning Tune", artist="The Testers", cover=True)


@pytest.fixture(scope="session")
def song_wav(audio_dir):
    return make_audio(audio_dir / "Nina Sine - Four Forty.wav", seconds=3)


@pytest.fixture(scope="session")
def spleeter_2stems(django_db_blocker):
    """The real 2stems checkpoint, installed once (idempotent, cached under var/)."""
    from separation.models_install import install_model, model_dir

    with django_db_blocker.unblock():
        install_model("2stems")
    return model_dir("2stems")


@pytest.fixture(scope="session")
def engine(spleeter_2stems):
    """The real 2stems engine, loaded once for the whole test session (TensorFlow loads in seconds)."""
    from separation.engines import get_engine

    return get_engine("2stems")


@pytest.fixture(scope="session")
def seed3_song(tmp_path_factory):
    """A 20-second generated song with its true stems, made once and shared by the engine tests."""
    from tests.eval_songs import generate_song

    return generate_song(tmp_path_factory.mktemp("song-seed3"), seconds=20, seed=3)
