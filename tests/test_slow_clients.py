"""Fifty slow or idle clients must not keep the server from answering others within 1 s.

gunicorn's threads read requests themselves: a partial request head, or a body that
never arrives, held one of them each, and ~20 such sockets silenced every page. Both
shapes now put nginx in front (deploy/nginx/): `make run` (`manage.py serve`) and the
compose production shape (nginx with TLS in front of the web container's gunicorn).
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.slow_clients import seconds_to_answer, slow_clients
from tests.test_serve import free_port

REPO = Path(__file__).resolve().parent.parent
ANSWER_WITHIN = 1.0


def wait_until_serving(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while seconds_to_answer(url, timeout=2) >= 2:
        assert process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.3)


def assert_answers_despite_slow_clients(port, url, *, tls=False):
    with slow_clients(port, 50, tls=tls):
        for _ in range(3):
            assert seconds_to_answer(url, timeout=ANSWER_WITHIN) < ANSWER_WITHIN, (
                "the server did not answer within 1 s while 50 slow clients were connected"
            )


@pytest.fixture
def app_env(tmp_path):
    env = {**os.environ, "STEMROOM_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    return env


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_fifty_slow_clients_do_not_silence_make_run(app_env):
    port = free_port()
    # As few threads as possible: without a buffering front, two slow sockets would be enough.
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port), "--web-workers", "1"]
        + ["--threads", "2"],
        cwd=REPO,
        env=app_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/accounts/login/", serve)
        assert_answers_despite_slow_clients(port, f"http://127.0.0.1:{port}/healthz")
        assert_answers_despite_slow_clients(port, f"http://127.0.0.1:{port}/accounts/login/")
    finally:
        stop(serve)


def compose_proxy_config(
    run_dir,
    *,
    http_port,
    https_port,
    upstream,
    cert,
    key,
    uploads_upstream=None,
    storage_port=None,
    storage_upstream=None,
):
    """The compose proxy's own template, rendered as nginx's image does, with local paths and ports."""
    template = (REPO / "deploy/nginx/templates/stemroom.conf.template").read_text()
    server_conf = (
        template.replace("${STEMROOM_MAX_REQUEST_BYTES}", str(210 * 1024 * 1024))
        .replace("server web:8000;", f"server {upstream};")
        .replace("server uploads:8000;", f"server {uploads_upstream or upstream};")
        # Without a bucket to reach (the slow-client test), an address where nothing answers.
        .replace("server storage:9000;", f"server {storage_upstream or '127.0.0.1:9'};")
        .replace("/etc/nginx/certs/fullchain.pem", str(cert))
        .replace("/etc/nginx/certs/privkey.pem", str(key))
        .replace("/etc/nginx/stemroom-common.conf", str(REPO / "deploy/nginx/stemroom-common.conf"))
    )
    server_conf = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", server_conf)
    server_conf = server_conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    server_conf = re.sub(r"listen 443 ssl([^;]*);", rf"listen 127.0.0.1:{https_port} ssl\1;", server_conf)
    server_conf = re.sub(
        r"listen 9443 ssl([^;]*);", rf"listen 127.0.0.1:{storage_port or free_port()} ssl\1;", server_conf
    )
    assert "${" not in server_conf, "the template has a variable compose does not set"
    temp = {name: run_dir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    conf = run_dir / "nginx.conf"
    conf.write_text(
        f"daemon off; worker_processes 1; pid {run_dir / 'nginx.pid'}; error_log stderr warn; {user}\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        + "".join(f"{name}_temp_path {path};\n" for name, path in temp.items() if name != "body")
        + f"client_body_temp_path {temp['body']};\n{server_conf}\n}}\n"
    )
    return conf


def test_fifty_slow_clients_do_not_silence_the_compose_shape(app_env, tmp_path):
    from platform.proxy import nginx_binary

    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    for gunicorn_service in ("web", "uploads"):
        assert "ports" not in compose["services"][gunicorn_service], "gunicorn must only be reachable through the proxy"
    web_port, http_port, https_port = free_port(), free_port(), free_port()
    # The web container's own command, on a loopback port instead of the compose network.
    gunicorn_args = shlex.split(compose["services"]["web"]["command"])
    gunicorn_args[gunicorn_args.index("--bind") + 1] = f"127.0.0.1:{web_port}"
    assert gunicorn_args[:3] == ["python", "-m", "gunicorn"]
    env = {
        **app_env,
        "STEMROOM_ENV": "production",
        "SECRET_KEY": "compose-shape-test-" + "k3y-" * 12,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
    }
    web = subprocess.Popen(
        [sys.executable, *gunicorn_args[1:]],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    conf = compose_proxy_config(
        tmp_path / "nginx",
        http_port=http_port,
        https_port=https_port,
        upstream=f"127.0.0.1:{web_port}",
        cert=cert,
        key=key,
    )
    checked = subprocess.run([nginx_binary(), "-t", "-c", str(conf), "-e", "stderr"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen(
        [nginx_binary(), "-c", str(conf), "-e", "stderr"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"https://127.0.0.1:{https_port}/healthz"
        wait_until_serving(url, web)
        assert_answers_despite_slow_clients(https_port, url, tls=True)
        # Plain HTTP never reaches the app except the health check.
        assert seconds_to_answer(f"http://127.0.0.1:{http_port}/healthz", timeout=ANSWER_WITHIN) < ANSWER_WITHIN
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
