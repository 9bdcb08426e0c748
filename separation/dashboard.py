"""The job monitoring dashboard in the admin (staff only), and the same numbers as JSON.

``/admin/monitoring/`` is wrapped in ``admin.site.admin_view`` (platform/urls.py), so
anyone who is not active staff is sent to the admin login. The page draws its charts as
inline SVG on the server and refreshes itself by fetching ``?fragment=1`` -- the same
view, so the same permission -- every few seconds. ``/api/monitoring/`` returns
``monitoring.collect()`` for scripts: 401 without credentials, 403 for non-staff.
"""

from datetime import datetime

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import charts, monitoring

REFRESH_SECONDS = 5
SERIES = [("succeeded", "succeeded"), ("failed", "failed"), ("cancelled", "cancelled")]


@never_cache
def monitoring_view(request):
    stats = monitoring.collect()
    context = {
        **admin.site.each_context(request),
        "title": "Job monitoring",
        # The whole width for the charts.
        "is_nav_sidebar_enabled": False,
        "refresh_seconds": REFRESH_SECONDS,
        **dashboard_context(stats),
    }
    template = (
        "admin/separation/monitoring_body.html" if request.GET.get("fragment") else "admin/separation/monitoring.html"
    )
    return TemplateResponse(request, template, context)


def dashboard_context(stats):
    hourly = [{**bucket, "hour": datetime.fromisoformat(bucket["hour"])} for bucket in stats["hourly"]]
    windows = stats["windows"]
    running = [
        {
            **job,
            "url": reverse("admin:separation_separationjob_change", args=[job["id"]]),
            "bar": charts.progress(job["progress"], stale=job["stale"]),
            "running_for": monitoring.format_seconds(job["running_seconds"]),
            "heartbeat": monitoring.format_seconds(job["heartbeat_seconds"]),
        }
        for job in stats["running"]
    ]
    return {
        "stats": stats,
        "summary": monitoring.summary(stats),
        "tiles": _tiles(stats),
        "running": running,
        "chart_24h": charts.stacked_bars(
            hourly[-24:],
            SERIES,
            label_of=lambda b, i: f"{b['hour']:%H:%M}" if i % 3 == 0 else None,
            tooltip_of=_tooltip,
            aria_label="Jobs finished per hour over the last 24 hours, by outcome",
        ),
        "chart_7d": charts.stacked_bars(
            hourly,
            SERIES,
            label_of=lambda b, i: f"{b['hour']:%a %d}" if b["hour"].hour == 0 else None,
            tooltip_of=_tooltip,
            aria_label="Jobs finished per hour over the last 7 days, by outcome",
        ),
        "chart_rtf": charts.ranges(
            [
                (
                    _window_label(name),
                    w["realtime_factor"]["p5"],
                    w["realtime_factor"]["median"],
                    w["realtime_factor"]["p95"],
                )
                for name, w in windows.items()
            ],
            fmt=monitoring.format_factor,
            aria_label="Real-time factor: median, with the band from p5 to p95",
        ),
        "chart_wait": charts.ranges(
            [
                (_window_label(name), 0, w["wait_seconds"]["median"], w["wait_seconds"]["p95"])
                for name, w in windows.items()
            ],
            fmt=monitoring.format_seconds,
            aria_label="Wait before a worker starts a job: median, with the band up to p95",
        ),
        "chart_storage": charts.shares(
            list(stats["storage"]["parts"].items()),
            fmt=monitoring.format_bytes,
            aria_label="Storage used, by kind",
        ),
    }


def _tiles(stats):
    """The big numbers at the top, each with a tone: ok, warn or bad."""
    queue, workers, day = stats["queue"], stats["workers"], stats["windows"]["24h"]
    failure = day["failure_rate"]
    return [
        {"label": "Queued jobs", "value": queue["queued_jobs"], "tone": "ok", "note": _oldest(queue)},
        {
            "label": "Running jobs",
            "value": queue["running_jobs"],
            "tone": "bad" if queue["stale_running_jobs"] else "ok",
            "note": f"{queue['stale_running_jobs']} without heartbeat" if queue["stale_running_jobs"] else "",
        },
        {
            "label": "Broker tasks",
            "value": queue["broker"]["total"],
            "tone": "ok",
            "note": f"{queue['broker']['ready']} waiting, {queue['broker']['leased']} held by a worker",
        },
        {
            "label": "Workers alive",
            "value": workers["processes"],
            "tone": "ok" if workers["clusters_alive"] else "bad",
            "note": f"in {workers['clusters_alive']} cluster{'s' if workers['clusters_alive'] != 1 else ''}",
        },
        {
            "label": "Failure rate, 24 h",
            "value": monitoring.format_rate(failure),
            "tone": "bad" if failure and failure > 0.2 else "warn" if failure and failure > 0.05 else "ok",
            "note": f"{day['failed']} of {day['succeeded'] + day['failed']} finished",
        },
        {
            "label": "Median real-time factor, 24 h",
            "value": monitoring.format_factor(day["realtime_factor"]["median"]),
            "tone": "ok",
            "note": f"over {day['realtime_factor']['count']} jobs",
        },
    ]


def _oldest(queue):
    if queue["oldest_queued_seconds"] is None:
        return "nothing waiting"
    return f"oldest waiting {monitoring.format_seconds(queue['oldest_queued_seconds'])}"


def _tooltip(bucket):
    counts = ", ".join(f"{bucket[key]} {label}" for key, label in SERIES)
    return f"{bucket['hour']:%a %d %b %H:00}: {counts}"


def _window_label(name):
    return {"24h": "24 hours", "7d": "7 days"}.get(name, name)


class MonitoringStatsView(APIView):
    """Queue, workers, throughput, failure rate, speed and storage: what the admin dashboard shows."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Job monitoring numbers (staff only)",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="See separation.monitoring.collect().")},
        tags=["monitoring"],
    )
    def get(self, request):
        return Response(monitoring.collect())
