"""``GET /healthz``: can this installation separate a song right now?

No authentication, so load balancers and ``docker compose`` can call it: 200 with
``{"status": "ok"}`` when every check passes, 503 with ``{"status": "fail"}`` otherwise.
That is all an anonymous caller learns (queue depth and worker counts are nobody
else's business). Staff signed in to the site, or a monitor sending the configured
``HEALTHZ_TOKEN`` (``Authorization: Bearer <token>``, or ``?token=<token>``), also get
each check, which says what is wrong without revealing paths, hosts or user data:

- database: a ``SELECT 1`` answers.
- broker: django-q2's ORM broker table (``OrmQ``) can be queried.
- workers: at least one django-q2 cluster reported within the last few seconds. Each
  cluster's sentinel writes its stats to the shared cache every half second with a
  3-second expiry, and replaces dead worker processes itself, so a fresh stat means the
  cluster is up and has workers. These stats keep coming while a worker is busy with a
  long job, unlike a scheduled "I'm alive" task that would wait in the queue behind it.
- model: the Spleeter 2stems checkpoint is installed where the workers load it from.
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.conf import Conf
from django_q.models import OrmQ

from separation import monitoring
from separation.models_install import has_checkpoint, model_dir

logger = logging.getLogger(__name__)

MODEL = "2stems"


@never_cache
@require_safe
def healthz(request):
    checks = {
        "database": _check(check_database),
        "broker": _check(check_broker),
        "workers": _check(check_workers),
        "model": _check(check_model),
    }
    ok = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ok else "fail"}
    if may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ok else 503)


def may_see_details(request):
    token = settings.HEALTHZ_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            given = request.GET.get("token", "")
        if given and constant_time_compare(given.strip(), token):
            return True
    try:
        return request.user.is_active and request.user.is_staff
    except DatabaseError:
        # The session could not be read: the database is what is failing, and the status says so.
        return False


def _check(probe):
    started = time.monotonic()
    try:
        result = probe()
    except Exception as exc:
        # A health check reports every failure, whatever raised it, rather than answer 500.
        logger.warning("Health check %s failed", probe.__name__, exc_info=True)
        result = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round(1000 * (time.monotonic() - started), 1)
    return result


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "detail": f"The database does not answer: {exc}"}
    return {"ok": True}


def check_broker():
    try:
        waiting = OrmQ.objects.using(Conf.ORM).count()
    except DatabaseError as exc:
        return {"ok": False, "detail": f"The django-q2 broker table cannot be read: {exc}"}
    return {"ok": True, "tasks": waiting}


def check_workers():
    workers = monitoring.workers()
    # Clusters that take separations: the song-analysis cluster alone would leave every Split waiting.
    result = {
        "ok": workers["separating"] > 0,
        "clusters": workers["separating"],
        "processes": workers["separating_processes"],
        "last_seen_seconds": workers["last_seen_seconds"],
    }
    if not workers["cache_shared"]:
        result["detail"] = (
            "The cache is private to each process, so the workers' django-q2 stats cannot be seen here: "
            "configure a shared cache (settings.CACHES)."
        )
    elif not result["ok"]:
        result["detail"] = (
            "No django-q2 cluster that separates is reporting (each one's stats expire seconds after its "
            "last report): start one with `manage.py qcluster`."
        )
    return result


def check_model():
    if has_checkpoint(model_dir(MODEL)):
        return {"ok": True, "name": MODEL}
    return {
        "ok": False,
        "name": MODEL,
        "detail": f"The {MODEL} checkpoint is not installed: run `manage.py install_models --model {MODEL}`.",
    }
