"""Uploads that fail half-way leave nothing behind, and a full disk is a clear 507, not a 500."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from library.models import Track
from tests.disk import small_disk
from tests.helpers import files_under, upload
from tests.slow_clients import seconds_to_answer
from tests.test_serve import free_port
from tests.test_slow_clients import wait_until_serving

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("full", ["FILE_UPLOAD_TEMP_DIR", "MEDIA_ROOT"], ids=["temp_disk", "media_disk"])
def test_an_upload_to_a_full_disk_is_a_507_and_leaves_nothing(alice_api, song_wav, isolated_media, full):
    with small_disk(getattr(isolated_media, full), 128 * 1024):
        response = upload(alice_api, song_wav)
        leftovers = files_under(getattr(isolated_media, full))
    assert response.status_code == 507, response.content
    assert response.json()["code"] == "storage_full"
    assert "storage" in response.json()["detail"].lower()
    assert leftovers == []
    assert files_under(isolated_media.FILE_UPLOAD_TEMP_DIR) == []
    assert files_under(isolated_media.MEDIA_ROOT) == []
    assert not Track.objects.exists()


@pytest.fixture
def served(tmp_path):
    """`manage.py serve` as `make run` starts it (nginx in front of gunicorn), on its own data folder."""
    env = {**os.environ, "STEMROOM_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    token = (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CREATE_USER],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port), "--web-workers", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_serving(f"http://127.0.0.1:{port}/accounts/login/", process)
    yield port, token, env, tmp_path / "var"
    process.terminate()
    process.wait(timeout=30)


CREATE_USER = (
    "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
    "print(Token.objects.create(user=User.objects.create_user('alice', password='correct horse battery')).key)"
)


def test_an_upload_cut_off_halfway_leaves_no_track_and_no_file(served, song_wav):
    port, token, env, var = served
    data = Path(song_wav).read_bytes()
    boundary = "cutoffboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="song.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            (
                "POST /api/tracks/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Token {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) + len(data) + len(tail)}\r\n\r\n"
            ).encode()
            + head
            + data[: len(data) // 2]
        )
        time.sleep(0.5)
    # The server goes on serving, and neither the proxy's buffer nor Django kept anything.
    assert seconds_to_answer(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) < 5
    deadline = time.monotonic() + 10
    while files_under(var / "run" / "nginx" / "body") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert files_under(var / "run" / "nginx" / "body") == []
    for folder in (var / "tmp", var / "media"):
        assert not folder.exists() or files_under(folder) == []
    count = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from library.models import Track; print(Track.objects.count())"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert count.stdout.strip().splitlines()[-1] == "0"
