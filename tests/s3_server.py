"""A real S3-compatible server for the STORAGE=s3 tests: moto in server mode, started here.

It runs from its own virtual environment (.venv-s3-server, made by `make test` from
requirements-s3-server.txt) as a separate process on a free port, and speaks S3 over HTTP
like MinIO would. One bucket per test session; each test using ``s3_media`` starts with it
empty and stores the default storage there.
"""

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
MOTO_SERVER = REPO / ".venv-s3-server" / "bin" / "moto_server"
BUCKET = "stemroom-test"
# moto accepts any key pair; these only have to look like one.
ACCESS_KEY, SECRET_KEY, REGION = "stemroom-test-key", "stemroom-test-secret", "us-east-1"


@dataclass
class S3Server:
    endpoint: str
    client: object

    def object_keys(self):
        return self.object_keys_in(BUCKET)

    def object_keys_in(self, bucket):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key):
        return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def empty(self):
        for key in self.object_keys():
            self.client.delete_object(Bucket=BUCKET, Key=key)

    def environment(self):
        """What a separate Stemroom process (a worker) needs to use this bucket."""
        return {
            "STORAGE": "s3",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    if not MOTO_SERVER.exists():
        pytest.fail(f"{MOTO_SERVER} is missing: `make test` builds it (or: make .venv-s3-server/.installed)")
    port = _free_port()
    log = tmp_path_factory.mktemp("s3-server") / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"moto's S3 server did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )
        client.create_bucket(Bucket=BUCKET)
        yield S3Server(endpoint, client)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_media(s3_server, settings):
    """This process's default storage is the bucket (STORAGE=s3), empty at the start."""
    s3_server.empty()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "platform.s3_storage.S3MediaStorage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server.endpoint,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "querystring_expire": 300,
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    return s3_server
