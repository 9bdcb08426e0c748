"""The monitoring dashboard: staff only, right numbers, fast and with a bounded number of
queries from an empty database to thousands of jobs; its JSON twin refuses non-staff."""

import re
import statistics
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from separation import monitoring
from separation.models import SeparationJob
from tests.monitoring_data import make_history, report_cluster, sha

DASHBOARD = "/admin/monitoring/"
API = "/api/monitoring/"
# Measured: 27 with one worker cluster, from 0 jobs to thousands (the session and user, one
# aggregate per kind of number, one read per percentile, the cache: one read per cluster).
MAX_QUERIES = 30


@pytest.fixture(autouse=True)
def no_leftover_cluster_stats(db):
    cache.clear()


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("sam", "sam@example.com", "a staff passphrase")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def numbers(page):
    """The dashboard's summary tables, as {(section, label): text}."""
    found = {}
    for section, rows in re.findall(r"<h2>([^<]+)</h2>\s*<table class=\"numbers\">(.*?)</table>", page, re.S):
        for label, text in re.findall(r'<th scope="row">([^<]+)</th><td>([^<]*)</td>', rows):
            found[(section, label)] = text
    return found


def test_it_renders_with_no_jobs_at_all(staff_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 4
    assert "No jobs finished in this period" in page
    assert "No job is running." in page
    assert "Is <code>manage.py qcluster</code> running?" in page
    table = numbers(page)
    assert table[("Queue", "Queued jobs")] == "0"
    assert table[("Last 24 h", "Failure rate")] == "—"
    assert table[("Storage", "Total")] == "0 B"


def test_it_renders_thousands_of_jobs_in_well_under_a_second_with_bounded_queries(
    staff_client, alice, django_assert_max_num_queries
):
    now = timezone.now()
    finished = make_history(3000, now, requested_by=alice)
    report_cluster(workers=2)
    staff_client.get(DASHBOARD)  # templates compiled, connection open: measure the steady state

    with django_assert_max_num_queries(MAX_QUERIES):
        started = time.perf_counter()
        response = staff_client.get(DASHBOARD)
        elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed < 1.0, f"dashboard took {elapsed:.2f} s"
    page = response.content.decode()
    table = numbers(page)
    # Every generated job finished within the last 166 hours: all are in the 7-day window.
    failed = sum(j.status == "failed" for j in finished)
    succeeded = sum(j.status == "succeeded" for j in finished)
    assert table[("Last 7 days", "Jobs finished")] == str(len(finished))
    assert table[("Last 7 days", "Failure rate")] == f"{100 * failed / (failed + succeeded):.1f}%"
    assert table[("Queue", "Queued jobs")] == "3"
    assert table[("Workers", "Worker processes")] == "2"
    assert page.count('class="progress"') == 2  # both running jobs have a progress bar


def test_the_percentiles_are_those_of_the_data(db):
    now = timezone.now()
    # 100 succeeded jobs in the last hours: real-time factors 1..100, waits 1..100 s.
    SeparationJob.objects.bulk_create(
        SeparationJob(
            sha256=sha(i),
            source="x",
            model="2stems",
            status="succeeded",
            queued_at=now - timedelta(hours=2, seconds=i),
            started_at=now - timedelta(hours=2),
            finished_at=now - timedelta(hours=1),
            realtime_factor=float(i),
        )
        for i in range(1, 101)
    )
    day = monitoring.collect(now)["windows"]["24h"]
    values = list(range(1, 101))
    expected_p95 = statistics.quantiles(values, n=20, method="inclusive")[-1]
    assert day["realtime_factor"]["median"] == pytest.approx(statistics.median(values))
    assert day["realtime_factor"]["p95"] == pytest.approx(expected_p95)
    assert day["wait_seconds"]["median"] == pytest.approx(50.5)
    assert day["wait_seconds"]["p95"] == pytest.approx(expected_p95)
    assert day["failure_rate"] == 0.0
    assert day["succeeded"] == day["finished"] == 100


def test_hourly_bars_add_up_to_the_windows_totals(db):
    now = timezone.now()
    make_history(400, now)
    stats = monitoring.collect(now)
    assert len(stats["hourly"]) == 168
    for name, hours in (("24h", 24), ("7d", 168)):
        bars = stats["hourly"][-hours:]
        assert sum(b["succeeded"] + b["failed"] + b["cancelled"] for b in bars) == stats["windows"][name]["finished"]
        assert sum(b["failed"] for b in bars) == stats["windows"][name]["failed"]


def test_a_running_job_without_heartbeat_is_flagged(staff_client):
    now = timezone.now()
    SeparationJob.objects.create(
        sha256=sha(1),
        source="x",
        model="2stems",
        status="running",
        progress=37,
        started_at=now - timedelta(minutes=20),
        heartbeat_at=now - timedelta(minutes=15),
        worker="lost-box:9",
    )
    page = staff_client.get(DASHBOARD).content.decode()
    assert "37% done" in page
    assert "lost-box:9" in page
    assert "1 without heartbeat" in page
    assert numbers(page)[("Queue", "Running jobs without a heartbeat")] == "1"


def test_the_fragment_it_refreshes_from_is_the_same_body(staff_client):
    page = staff_client.get(DASHBOARD).content.decode()
    fragment = staff_client.get(DASHBOARD + "?fragment=1").content.decode()
    assert "<html" in page and "<html" not in fragment
    # The refresh script is a static file (the Content-Security-Policy forbids inline scripts).
    assert 'src="/static/separation/monitoring.js"' in page and 'data-refresh-seconds="' in page
    assert numbers(fragment) == numbers(page)


def test_the_admin_index_and_job_list_link_to_it(staff_client):
    assert f'href="{DASHBOARD}"' in staff_client.get("/admin/").content.decode()
    assert f'href="{DASHBOARD}"' in staff_client.get("/admin/separation/separationjob/").content.decode()


def test_people_who_are_not_staff_are_sent_to_the_admin_login(client, alice):
    for who in (None, alice):
        if who:
            client.force_login(who)
        for url in (DASHBOARD, DASHBOARD + "?fragment=1"):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/?next=/admin/monitoring/")


def test_the_json_endpoint_is_for_staff_only(alice, staff):
    anonymous = APIClient()
    assert anonymous.get(API).status_code == 401

    alice_token = APIClient()
    alice_token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    response = alice_token.get(API)
    assert response.status_code == 403
    assert "queue" not in response.json()

    alice_session = APIClient()
    alice_session.force_login(alice)
    assert alice_session.get(API).status_code == 403

    staff_token = APIClient()
    staff_token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    response = staff_token.get(API)
    assert response.status_code == 200
    assert set(response.json()) >= {"queue", "running", "workers", "windows", "hourly", "storage"}
