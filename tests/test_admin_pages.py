"""Every model is in the admin, and every changelist and change page renders for staff."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from library.models import Score
from separation.models import Analysis, StemVersion
from tests.separated import separated_track

OURS = ("accounts", "library", "separation")


@pytest.fixture
def populated(alice, alice_api, tmp_path):
    track, job = separated_track(alice, tmp_path)
    alice_api.put(f"/api/tracks/{track.pk}/lyrics/", {"lrc": "[00:01.00]Hi"}, format="json")
    remix = alice_api.post("/api/remixes/", {"track": str(track.pk), "name": "Mix"}, format="json").json()
    alice_api.post(f"/api/remixes/{remix['id']}/render/")
    alice_api.post("/api/shares/", {"remix": remix["id"]}, format="json")
    alice_api.post(f"/api/tracks/{track.pk}/scores/", {"score": 8412, "difficulty": "medium"}, format="json")
    alice_api.post(f"/api/jobs/{job.pk}/versions/", {"key": 2, "tempo": 90}, format="json")
    Analysis.objects.create(job=job, status="succeeded", key="A", mode="minor", tempo=124.0, notes=[])


def test_every_model_of_ours_is_registered():
    missing = [
        model.__name__
        for app in OURS
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


def test_every_changelist_and_change_page_renders(client, populated):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "a strong admin pass"))
    checked = 0
    for model in admin.site._registry:
        if model._meta.app_label not in (*OURS, "auth"):
            continue
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        response = client.get(reverse(f"{info}_changelist"))
        assert response.status_code == 200, info
        obj = model.objects.first()
        if obj is not None:
            response = client.get(reverse(f"{info}_change", args=[obj.pk]))
            assert response.status_code == 200, info
            checked += 1
    assert checked >= 8
    assert Score.objects.exists() and StemVersion.objects.exists() and Analysis.objects.exists()
