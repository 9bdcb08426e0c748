"""compose.yaml, checked for its structure: no Docker engine runs here (issue 13, part 4).

What would break a `docker compose up` silently -- a service waiting on a check that does
not exist, a setting the app never reads, a worker that cannot be scaled, a media volume
that ties workers to one host -- is checked here; README's "Deployment" section is then
followed without containers by tests/test_deployment_readme.py.
"""

import re
import shlex
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "uploads", "worker", "analysis", "worker-gpu")
ONE_SHOTS = ("migrate", "storage-init")
S3_NAMES = {
    "STORAGE",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_SIGNED_URL_SECONDS",
    "S3_PUBLIC_ENDPOINT_URL",
}


def environment(service):
    return SERVICES[service].get("environment", {})


def names_read_by(*paths):
    """Environment variables the given modules read (env_str("X"), os.environ.get("X"), ...)."""
    pattern = re.compile(r"""(?:env_\w+|environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {name for path in paths for name in pattern.findall((REPO / path).read_text())}


def test_every_service_of_the_production_shape_is_there():
    assert set(SERVICES) == {
        "proxy",
        "web",
        "uploads",
        "migrate",
        "worker",
        "analysis",
        "worker-gpu",
        "db",
        "storage",
        "storage-init",
    }
    assert SERVICES["worker-gpu"]["profiles"] == ["gpu"]
    assert [name for name, service in SERVICES.items() if "profiles" in service] == ["worker-gpu"]


def test_only_the_proxy_is_published_and_workers_scale():
    published = [name for name, service in SERVICES.items() if "ports" in service]
    assert published == ["proxy"]
    # 9443: the bucket, for browsers with signed URLs (the proxy passes them to `storage`).
    assert sorted(SERVICES["proxy"]["ports"]) == ["443:443", "80:80", "9443:9443"]
    for name in SERVICES:
        # A fixed container name would make `--scale worker=N` fail on the second copy.
        assert "container_name" not in SERVICES[name], name


def test_every_long_running_service_has_a_health_check():
    for name, service in SERVICES.items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
            assert "healthcheck" not in service, name
        else:
            assert service["healthcheck"]["test"], name
            assert service.get("restart") == "unless-stopped", name


def test_workers_health_check_is_a_real_command_that_looks_at_their_own_cluster():
    for name in ("worker", "worker-gpu"):
        assert SERVICES[name]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "worker_health"]
    assert get_commands()["worker_health"] == "platform"


def test_depends_on_waits_for_health_and_finished_one_shots():
    ready = {
        "db": "service_healthy",
        "migrate": "service_completed_successfully",
        "storage": "service_healthy",
        "storage-init": "service_completed_successfully",
    }
    for name in APP_SERVICES:
        assert {k: v["condition"] for k, v in SERVICES[name]["depends_on"].items()} == ready, name
    assert SERVICES["proxy"]["depends_on"] == {
        "web": {"condition": "service_healthy"},
        "uploads": {"condition": "service_healthy"},
        "storage": {"condition": "service_healthy"},
    }
    assert SERVICES["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert SERVICES["storage-init"]["depends_on"] == {"storage": {"condition": "service_healthy"}}
    # Each condition can be met: a health check to wait for, a one-shot that ends.
    for name, service in SERVICES.items():
        for target, spec in service.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)
            else:
                assert spec["condition"] == "service_completed_successfully" and target in ONE_SHOTS, (name, target)


def test_volumes_no_shared_media_and_a_read_only_models_volume():
    assert set(COMPOSE["volumes"]) == {"pgdata", "objects", "models"}
    mounts = {name: service.get("volumes", []) for name, service in SERVICES.items()}
    assert mounts["db"] == ["pgdata:/var/lib/postgresql/data"]
    assert mounts["storage"] == ["objects:/data"]
    # install_models fills it once; everything else only reads it, where settings look for it.
    assert mounts["migrate"] == ["models:/models"]
    for name in APP_SERVICES:
        assert mounts[name] == ["models:/models:ro"], name
        assert environment(name)["SPLEETER_MODEL_PATH"] == "/models"
    assert "install_models" in SERVICES["migrate"]["command"]
    assert "migrate --noinput" in SERVICES["migrate"]["command"]
    # Static files are collected into the image, where whitenoise serves them from.
    assert "collectstatic --noinput" in (REPO / "Dockerfile").read_text()
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_app_environment_names_are_ones_the_app_reads():
    read = names_read_by("platform/settings.py") | {"Q_CLUSTER_NAME"}  # django-q2 reads that one itself
    for name in ("migrate", *APP_SERVICES):
        unknown = set(environment(name)) - read - S3_NAMES
        assert not unknown, f"{name} sets {sorted(unknown)}, which nothing reads"
        assert environment(name)["STEMROOM_ENV"] == "production"
    # Every gunicorn command is one gunicorn takes, on the app's own WSGI module.
    for name in ("web", "uploads"):
        command = shlex.split(SERVICES[name]["command"])
        assert command[:4] == ["python", "-m", "gunicorn", "platform.wsgi"], name
    for name in ("worker", "analysis", "worker-gpu"):
        assert SERVICES[name]["command"] == "python manage.py qcluster"


def test_s3_environment_names_are_ones_the_app_reads():
    read = names_read_by(*(p.relative_to(REPO) for p in (REPO / "platform").glob("*.py")))
    assert read >= S3_NAMES, sorted(S3_NAMES - read)


def test_media_goes_to_the_compose_bucket():
    for name in ("migrate", *APP_SERVICES):
        env = environment(name)
        assert env["STORAGE"] == "s3"
        assert env["S3_ENDPOINT_URL"].endswith("http://storage:9000}")
        # Browsers cannot resolve `storage`: their signed URLs point at the proxy's bucket port.
        assert env["S3_PUBLIC_ENDPOINT_URL"].endswith(":9443}")
    template = (REPO / "deploy/nginx/templates/stemroom.conf.template").read_text()
    bucket_server = template[template.index("listen 9443 ssl") :]
    assert "proxy_pass http://stemroom_storage;" in bucket_server and "server storage:9000;" in template
    # The signature covers the host the browser used: it must reach the bucket unchanged.
    assert "proxy_set_header Host $http_host;" in bucket_server
    assert "limit_except GET HEAD OPTIONS" in bucket_server
    init = " ".join(SERVICES["storage-init"]["command"])
    assert "mc mb --ignore-existing" in init and "mc anonymous set none" in init


def test_gpu_worker_reserves_nvidia_gpus_and_has_its_own_queue():
    gpu = SERVICES["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert gpu["build"] == {"context": ".", "dockerfile": "Dockerfile.gpu"}
    assert (REPO / "Dockerfile.gpu").read_text().count("FROM nvidia/cuda:11.8.0-cudnn8-runtime") == 1
    env = environment("worker-gpu")
    assert env["Q_CLUSTER_NAME"] in settings.Q_CLUSTER["ALT_CLUSTERS"]
    assert env["SEPARATION_DEVICE"] == "gpu"
    assert environment("worker")["SEPARATION_DEVICE"] == "cpu"
    assert "Q_CLUSTER_NAME" not in environment("worker")
    # Analyses have their own cluster, the one settings send them to.
    assert environment("analysis")["Q_CLUSTER_NAME"] == settings.ANALYSIS_CLUSTER
    assert settings.ANALYSIS_CLUSTER in settings.Q_CLUSTER["ALT_CLUSTERS"]
    # Web sends separations to whichever queue .env names (SEPARATION_CLUSTER=gpu with the profile).
    assert environment("web")["SEPARATION_CLUSTER"] == "${SEPARATION_CLUSTER:-}"


def test_env_example_documents_every_variable_compose_reads():
    text = (REPO / "compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    required = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*):\?", text))
    example = dict(
        line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines() if line and line[0] != "#"
    )
    assert required <= set(example), sorted(required - set(example))
    assert set(example) <= used, sorted(set(example) - used)
    assert "SECRET_KEY" in required and "POSTGRES_PASSWORD" in required
