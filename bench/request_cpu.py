"""CPU per API read, in-process: what one library page and one job-status poll cost Django.

No server, no network: Django's test client against a throwaway SQLite database holding a
200-track library and a running job, so the figures are the app's own work (ORM,
serializers, middleware, token check). Prints the best of 7 rounds of 100 requests each;
these machines are noisy, and the minimum is the least disturbed.

    .venv/bin/python bench/request_cpu.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # our `platform` package before the stdlib's
os.chdir(REPO)
os.environ["STEMROOM_VAR_DIR"] = tempfile.mkdtemp(prefix="request-cpu-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from library.models import Track  # noqa: E402
from separation.models import SeparationJob, SeparationRequest  # noqa: E402

ROUNDS, REQUESTS = 7, 100


def main():
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("reader", password="a long bench passphrase")
    Track.objects.bulk_create(
        Track(owner=owner, title=f"Song {i:04d}", artist=f"Band {i % 37}", original=f"tracks/x/{i}.mp3",
              original_name=f"{i}.mp3", sha256=f"{i:064x}", codec="mp3", duration=200, sample_rate=44100,
              channels=2, size=4_000_000)
        for i in range(200)
    )  # fmt: skip
    job = SeparationJob.objects.create(
        sha256=f"{1:064x}", source="tracks/x/1.mp3", model="2stems", status="running", progress=40
    )
    SeparationRequest.objects.create(user=owner, job=job)
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    for name, path in {"library page (50 of 200 tracks)": "/api/tracks/", "job status": f"/api/jobs/{job.pk}/"}.items():
        assert client.get(path).status_code == 200, path
        best = min(_cpu_per_request(client, path) for _ in range(ROUNDS))
        print(f"{name}: {best * 1000:.2f} ms CPU per request (best of {ROUNDS} x {REQUESTS})")


def _cpu_per_request(client, path):
    started = time.process_time()
    for _ in range(REQUESTS):
        client.get(path)
    return (time.process_time() - started) / REQUESTS


if __name__ == "__main__":
    main()
