"""Key and tempo versions of a separation's stems (issue 12), as routes of ``/api/jobs/{id}/``.

    POST /api/jobs/{id}/versions/            {"key": 2, "tempo": 90}
         -> 202 queued/running (poll ``url``), 200 ready (stems' ``audio_url``s)
    GET  /api/jobs/{id}/versions/{vid}/      the same representation, to poll
    GET  /api/jobs/{id}/versions/{vid}/{name}/   a rendered stem's MP3 (Range supported)

``key`` is semitones (-6..+6), ``tempo`` percent of the original (50..150). Key 0 at
tempo 100 is the original: 200 at once with the original stems' URLs, nothing rendered.
A version is shared by everyone who sees the job, like its stems; who sees the job is
``library.api_jobs.visible_job``'s rule.
"""

import uuid

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.quotas import quota_for
from platform.api_errors import APIError
from separation import keytempo
from separation.models import SEMITONES_RANGE, TEMPO_RANGE, VERSION_STEMS, SeparationJob, StemVersion

from .streaming import ranged_file_response


class WholeNumberField(serializers.IntegerField):
    """A JSON integer and nothing else: "2", 2.5 and true are refused, not coerced."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _range_field(low, high, what):
    message = f"Must be a whole number of {what} from {low} to {high}."
    return WholeNumberField(
        min_value=low,
        max_value=high,
        error_messages={"invalid": message, "min_value": message, "max_value": message, "required": message},
    )


class VersionRequestSerializer(serializers.Serializer):
    key = _range_field(*SEMITONES_RANGE, "semitones")
    tempo = _range_field(*TEMPO_RANGE, "percent")


class VersionStemSerializer(serializers.Serializer):
    name = serializers.CharField()
    audio_url = serializers.CharField(help_text="MP3 for the players (Range supported).")


class VersionSerializer(serializers.Serializer):
    """Documents ``version_data`` (written by hand like the job representation)."""

    id = serializers.UUIDField(allow_null=True, help_text="null for the original (key 0, tempo 100).")
    key = serializers.IntegerField(help_text="Semitones, -6..+6.")
    tempo = serializers.IntegerField(help_text="Percent of the original speed, 50..150.")
    status = serializers.ChoiceField(choices=StemVersion.Status.choices)
    progress = serializers.IntegerField()
    error = serializers.CharField()
    duration = serializers.FloatField(allow_null=True)
    url = serializers.CharField(allow_null=True, help_text="Where to poll it.")
    stems = VersionStemSerializer(many=True, help_text="Once it succeeded: accompaniment and vocals.")


def version_data(job, version=None):
    if version is None:  # the original stems are this version
        stems = sorted(job.stems.all(), key=lambda stem: stem.name)
        return {
            "id": None,
            "key": 0,
            "tempo": 100,
            "status": StemVersion.Status.SUCCEEDED,
            "progress": 100,
            "error": "",
            "duration": job.duration,
            "url": None,
            "stems": [
                {"name": stem.name, "audio_url": reverse("stem-audio", args=[stem.pk])}
                for stem in stems
                if stem.name in VERSION_STEMS
            ],
        }
    done = version.status == StemVersion.Status.SUCCEEDED
    return {
        "id": str(version.pk),
        "key": version.semitones,
        "tempo": version.tempo,
        "status": version.status,
        "progress": version.progress,
        "error": version.error,
        "duration": version.duration,
        "url": reverse("job-version", args=[job.pk, version.pk]),
        "stems": [
            {"name": name, "audio_url": reverse("job-version-audio", args=[job.pk, version.pk, name])}
            for name in VERSION_STEMS
        ]
        if done
        else [],
    }


VERSION_ID = OpenApiParameter("version_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The version.")
STEM = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, enum=list(VERSION_STEMS), description="Which stem of the version."
)


class KeyTempoActions:
    """Mixed into JobViewSet: its ``get_object`` decides who sees the job, and so its versions."""

    @extend_schema(
        request=VersionRequestSerializer,
        responses={200: VersionSerializer, 202: VersionSerializer},
        operation_id="jobs_versions_create",
    )
    @action(detail=True, methods=["post"])
    def versions(self, request, pk=None):
        """Ask for the stems at another key and tempo; rendered in the background, shared, kept until the job goes."""
        job = self.get_object()
        asked = VersionRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        semitones, tempo = asked.validated_data["key"], asked.validated_data["tempo"]
        shown = job.status_as_seen
        if shown != SeparationJob.Status.SUCCEEDED:
            raise APIError(
                f"The stems are not ready (the separation is {shown}): change the key and tempo once it succeeded.",
                code="stems_not_ready",
                status=status.HTTP_409_CONFLICT,
            )
        if keytempo.is_original(semitones, tempo):
            return Response(version_data(job))
        try:
            version, _ = keytempo.request_version(
                job,
                semitones=semitones,
                tempo=tempo,
                user=request.user,
                max_in_flight=quota_for(request.user).max_active_jobs,
            )
        except keytempo.TooManyVersions as exc:
            raise APIError(str(exc), code="too_many_jobs", status=status.HTTP_429_TOO_MANY_REQUESTS) from None
        done = version.status == StemVersion.Status.SUCCEEDED
        return Response(version_data(job, version), status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)

    def _version(self, version_id):
        job = self.get_object()
        try:
            version_id = uuid.UUID(str(version_id))
        except ValueError:
            raise Http404("No such version.") from None
        version = StemVersion.objects.filter(job=job, pk=version_id).first()
        if version is None:
            raise Http404("No such version.")
        return job, version

    @extend_schema(responses=VersionSerializer, parameters=[VERSION_ID], operation_id="jobs_version_retrieve")
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<version_id>[^/.]+)", url_name="version")
    def version(self, request, pk=None, version_id=None):
        """One key and tempo version: its progress while it renders, its stems once done."""
        job, version = self._version(version_id)
        return Response(version_data(job, version))

    @extend_schema(
        responses={(200, "audio/mpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The MP3; Range gets 206.")},
        parameters=[VERSION_ID, STEM],
        operation_id="jobs_version_audio_retrieve",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<version_id>[^/.]+)/(?P<name>[a-z]+)",
        url_name="version-audio",
    )
    def version_audio(self, request, pk=None, version_id=None, name=None):
        """One rendered stem of a finished version, streamed like the original stems."""
        _, version = self._version(version_id)
        if name not in VERSION_STEMS or version.status != StemVersion.Status.SUCCEEDED:
            raise Http404("No such stem of this version, or it is not rendered yet.")
        return ranged_file_response(request, getattr(version, name), content_type="audio/mpeg")
