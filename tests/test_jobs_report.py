"""`manage.py jobs_report` prints the numbers the monitoring dashboard shows."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from separation import monitoring
from tests.monitoring_data import make_history, report_cluster


@pytest.fixture(autouse=True)
def no_leftover_cluster_stats(db):
    cache.clear()


@pytest.fixture
def frozen_now(monkeypatch):
    """One instant for the report and the page, so time-based numbers (waits, rates) match to the digit."""
    now = timezone.now()
    monkeypatch.setattr(monitoring.timezone, "now", lambda: now)
    return now


def report(*args):
    out = StringIO()
    call_command("jobs_report", *args, stdout=out, no_color=True)
    return out.getvalue()


def dashboard_numbers(client):
    staff = User.objects.create_superuser("sam", "sam@example.com", "a staff passphrase")
    client.force_login(staff)
    page = client.get("/admin/monitoring/").content.decode()
    found = {}
    for section, rows in re.findall(r"<h2>([^<]+)</h2>\s*<table class=\"numbers\">(.*?)</table>", page, re.S):
        for label, text in re.findall(r'<th scope="row">([^<]+)</th><td>([^<]*)</td>', rows):
            found[(section, label)] = text
    return found


def report_numbers(text):
    """The report's sections: a heading line, then indented "label  value" lines."""
    found, section = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and not line.startswith("Separation jobs as of"):
            section = line.strip()
        elif line.startswith("  ") and section:
            label, _, value = line.strip().partition("  ")
            found[(section, label.strip())] = value.strip()
    return found


def test_it_prints_exactly_the_dashboards_numbers(client, frozen_now):
    make_history(500, frozen_now)
    report_cluster(workers=3, now=frozen_now)

    printed = report_numbers(report())
    shown = dashboard_numbers(client)

    assert shown, "no numbers found on the dashboard"
    summary_rows = {(s, label) for s, rows in monitoring.summary(monitoring.collect()) for label, _ in rows}
    assert set(shown) == summary_rows
    assert {key: printed.get(key) for key in shown} == shown
    assert printed[("Queue", "Queued jobs")] == "3"
    assert printed[("Workers", "Worker processes")] == "3"
    assert printed[("Last 7 days", "Jobs finished")] == "500"


def test_it_works_on_an_empty_installation():
    text = report()
    assert "Queued jobs" in text
    assert report_numbers(text)[("Last 24 h", "Failure rate")] == "—"
    assert report_numbers(text)[("Storage", "Total")] == "0 B"


def test_json_output_is_the_dashboards_json(client, frozen_now):
    make_history(50, frozen_now)
    printed = json.loads(report("--json"))
    staff = User.objects.create_superuser("sam", "sam@example.com", "a staff passphrase")
    client.force_login(staff)
    assert client.get("/api/monitoring/").json() == printed


def test_the_command_says_what_it_does():
    import separation.management.commands.jobs_report as command

    assert "dashboard" in command.__doc__
