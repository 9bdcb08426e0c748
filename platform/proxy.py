"""nginx in front of gunicorn for `manage.py serve`: the buffering front of `make run`.

gunicorn's threads read requests themselves, so a few dozen clients that send half a
request and wait hold every thread and the site stops answering. nginx reads whole
requests (and buffers large bodies to disk) before passing them on, and drops clients
that dawdle; its rules live in ``deploy/nginx/stemroom-common.conf``, the file the
compose proxy includes too, so both shapes behave the same.
"""

import os
import pwd
import shutil
from pathlib import Path

from django.conf import settings

COMMON_CONF = settings.BASE_DIR / "deploy" / "nginx" / "stemroom-common.conf"
# Multipart framing and the title/artist fields on top of the largest allowed file.
REQUEST_OVERHEAD_BYTES = 1024 * 1024


class ProxyUnavailable(Exception):
    pass


def nginx_binary():
    """nginx lives in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise ProxyUnavailable(
            "nginx is not installed; `make run` installs it (or: sudo apt-get install nginx). "
            "`manage.py serve --no-proxy` serves without it, unprotected from slow clients."
        )
    return found


def max_request_bytes():
    return settings.STEMROOM_MAX_UPLOAD_BYTES + REQUEST_OVERHEAD_BYTES


def write_config(run_dir: Path, *, listen: str, upstream: str, uploads: str | None = None) -> Path:
    """Write a complete nginx.conf for one serve run; every path nginx writes is under ``run_dir``.

    ``upstream`` serves every request; ``uploads`` (default: the same) the new uploads.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    temp_dirs = {name: run_dir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp_dirs.values():
        path.mkdir(exist_ok=True)
    # Started as root, nginx would hand its workers to "nobody", who cannot write the
    # body temp folder; keep them as the user who runs serve.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    conf = run_dir / "nginx.conf"
    conf.write_text(
        f"""# Written by `manage.py serve` at each start; edit {COMMON_CONF} instead.
daemon off;
worker_processes 1;
pid {run_dir / "nginx.pid"};
# Not warn: every upload over 1 MB is buffered to disk on purpose, and says so at warn.
error_log stderr error;
{user}
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    server_tokens off;
    sendfile on;
    client_body_temp_path {temp_dirs["body"]};
    proxy_temp_path {temp_dirs["proxy"]};
    fastcgi_temp_path {temp_dirs["fastcgi"]};
    uwsgi_temp_path {temp_dirs["uwsgi"]};
    scgi_temp_path {temp_dirs["scgi"]};

    upstream stemroom_app {{
        server {upstream};
        keepalive 16;
    }}
    upstream stemroom_uploads {{
        server {uploads or upstream};
        keepalive 8;
    }}
    server {{
        listen {listen};
        client_max_body_size {max_request_bytes()};
        include {COMMON_CONF};
    }}
}}
"""
    )
    return conf


def command(conf: Path):
    return [nginx_binary(), "-p", str(conf.parent), "-c", str(conf), "-e", "stderr"]
