"""Our project package is named ``platform``; the stdlib module must keep working."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import platform, sys
assert platform.__path__[0].endswith("platform"), platform.__path__
print("system", platform.system())
print("python", platform.python_version())
print("machine", platform.machine())
import uuid
print("uuid", uuid.uuid4().version)
import tensorflow as tf
print("tensorflow", tf.__version__)
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
django.setup()
from django.conf import settings
print("settings", settings.ROOT_URLCONF)
"""


def test_stdlib_platform_uuid_tensorflow_and_django_all_work_from_the_repo_root():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["system"] == "Linux"
    assert lines["python"] == ".".join(map(str, sys.version_info[:3]))
    assert lines["uuid"] == "4"
    assert lines["tensorflow"].startswith("2.")
    assert lines["settings"] == "platform.urls"
