"""Separation jobs and stems, as seen from a library: you see the jobs you asked for, and your remixes' stems."""

import functools
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

from django.core.files.storage import default_storage
from django.db import connections
from django.db.models import Q, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.quotas import quota_for
from platform.api_errors import APIError
from separation import analysis_tasks, chunks, services
from separation.models import SeparationJob, SeparationRequest, Stem
from separation.serializers import JobSerializer, StemSerializer, analysis_representation

from . import downloads
from .keytempo_api import KeyTempoActions
from .models import Remix, Track
from .streaming import ranged_file_response

# Not "format": DRF reads ?format= to pick a renderer.
STEM_RENDITIONS = set(downloads.RENDITIONS)


BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file; HTTP Range requests get 206.")


@contextmanager
def too_many_jobs_as_429():
    try:
        yield
    except services.TooManyJobs as exc:
        raise APIError(str(exc), code="too_many_jobs", status=status.HTTP_429_TOO_MANY_REQUESTS) from None


def jobs_visible_to(user):
    """Jobs you asked for, and the stems your remixes (forks included) are made of.

    Owning the same audio is not enough: someone else's job for it appears only once you ask for stems.
    """
    return (
        SeparationJob.objects.filter(Q(requests__user=user) | Q(remixes__owner=user)).distinct().with_request_of(user)
    )


def visible_job(user, pk):
    """The job ``pk`` as ``user`` sees it (``request_cancelled_at`` set, stems loaded once it has any), or Http404.

    The same rule as jobs_visible_to, in simple queries that cost a third as much as
    filtering that queryset: job status is what every waiting page polls. Someone who
    asked for the job gets it in one query, joined to their request.
    """
    try:
        pk = uuid.UUID(str(pk))
    except ValueError:
        raise Http404("No such job.") from None
    jobs = SeparationJob.objects
    job_id = SeparationJob._meta.pk.get_db_prep_value(pk, connections[jobs.db])
    job = next(iter(jobs.raw(_job_asked_for_sql(jobs.db), [job_id, user.pk])), None)
    if job is not None:
        # A raw query's extra column arrives unconverted (SQLite: text): only whether it is set matters.
        job.request_cancelled_at = _CANCELLED_AT.to_python(job.request_cancelled_at)
    else:
        if not Remix.objects.filter(owner=user, job_id=pk).exists():
            raise Http404("No such job.")
        job = next(iter(SeparationJob.objects.filter(pk=pk).order_by()[:1]), None)
        if job is None:
            raise Http404("No such job.")
        job.request_cancelled_at = None
    if job.status == SeparationJob.Status.SUCCEEDED:
        prefetch_related_objects([job], "stems")
    else:
        job._prefetched_objects_cache = {"stems": Stem.objects.none()}  # stems exist only once it succeeded
    return job


_CANCELLED_AT = SeparationRequest._meta.get_field("cancelled_at")


@functools.cache
def _job_asked_for_sql(alias):
    """The job %s with %s's request's ``request_cancelled_at``, if they asked for it.

    Raw SQL, its text made once per database: the ORM built and compiled this join for
    every poll, ~0.4 ms of a job-status read's ~2 ms.
    """
    quote = connections[alias].ops.quote_name
    job, request = SeparationJob._meta, SeparationRequest._meta
    columns = ", ".join(f"j.{quote(field.column)}" for field in job.concrete_fields)
    return (
        f"SELECT {columns}, r.{quote(request.get_field('cancelled_at').column)} AS request_cancelled_at"
        f" FROM {quote(job.db_table)} j"
        f" JOIN {quote(request.db_table)} r ON r.{quote(request.get_field('job').column)} = j.{quote(job.pk.column)}"
        f" WHERE j.{quote(job.pk.column)} = %s AND r.{quote(request.get_field('user').column)} = %s"
    )


class JobViewSet(KeyTempoActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Separation jobs for audio in your library: status, progress, stems, and their key/tempo versions."""

    serializer_class = JobSerializer
    search_fields = []
    ordering_fields = ["queued_at", "finished_at", "status"]
    ordering = ["-queued_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return SeparationJob.objects.none()
        return jobs_visible_to(self.request.user).prefetch_related("stems")

    def get_object(self):
        job = visible_job(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, job)
        return job

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Withdraw your request; the job itself stops only when nobody else who asked for it still wants it."""
        job = self.get_object()
        shown = job.status_as_seen
        if shown not in SeparationJob.UNFINISHED or not services.cancel_request(request.user, job):
            raise APIError(
                f"Only queued or running jobs can be cancelled; this one is {shown}.",
                code="not_cancellable",
                status=409,
            )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Ask again for a job that failed, or that you (or everyone) cancelled."""
        job = self.get_object()
        shown = job.status_as_seen
        if shown not in SeparationJob.RETRYABLE:
            raise APIError(
                f"Only failed or cancelled jobs can be retried; this one is {shown}.",
                code="not_retryable",
                status=409,
            )
        with too_many_jobs_as_429():
            job = services.retry_request(request.user, job, max_in_flight=quota_for(request.user).max_active_jobs)
        job = visible_job(request.user, job.pk)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Succeeded: {"status", "key", "mode", "tempo", "beats", "notes", "contour"}; '
                'failed: {"status": "failed", "error"}.',
            ),
            202: OpenApiResponse(
                OpenApiTypes.OBJECT, description='Pending: {"status": "queued"|"running", "progress"}.'
            ),
            404: OpenApiResponse(description="No such job, or it has not succeeded."),
        }
    )
    @action(detail=True, methods=["get"])
    def analysis(self, request, pk=None):
        """The song's key, tempo, beats and sung melody (separation.analysis), made after the separation."""
        job = self.get_object()
        if job.status_as_seen != SeparationJob.Status.SUCCEEDED:
            raise Http404("The separation has not succeeded, so there is no analysis.")
        # Jobs that succeeded before analyses existed get theirs now.
        found = analysis_tasks.start_for(job)
        body, pending = analysis_representation(found)
        return Response(body, status=status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Peaks.")})
    @action(detail=True, methods=["get"], url_path="mixture-peaks", url_name="mixture-peaks")
    def mixture_peaks(self, request, pk=None):
        job = self.get_object()
        if not job.mixture_peaks:
            raise Http404("The waveform is not ready yet.")
        return ranged_file_response(request, job.mixture_peaks, content_type="application/json")

    @extend_schema(
        responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Chunk manifest.")}
    )
    @action(detail=True, methods=["get"])
    def chunks(self, request, pk=None):
        """The stems made so far, as numbered 16-bit WAV chunks with their waveform peaks (separation.chunks)."""
        job = self.get_object()

        def url(stem, index):
            return reverse("job-chunk", args=[job.pk, stem, index])

        return Response(chunks.manifest(job, job.status_as_seen, url))

    @extend_schema(
        operation_id="jobs_chunk_retrieve", responses={(200, "audio/wav"): BINARY, (206, "audio/wav"): BINARY}
    )
    @action(detail=True, methods=["get"], url_path=r"chunks/(?P<name>[a-z]+)/(?P<index>[0-9]{1,6})", url_name="chunk")
    def chunk(self, request, pk=None, name=None, index=None):
        """One progressive chunk of one stem: exactly the frames the manifest lists, never changed once written."""
        job = self.get_object()
        index = int(index)
        status_seen = job.status_as_seen
        if (
            name not in job.stem_names
            or not job.chunks_available(status_seen)
            or index >= chunks.chunk_count(job.ready_frames)
        ):
            raise Http404("No such chunk.")
        stored = SimpleNamespace(storage=default_storage, name=chunks.audio_name(job.chunks_folder, name, index))
        try:
            response = ranged_file_response(request, stored, content_type="audio/wav")
        except FileNotFoundError:
            raise Http404("No such chunk.") from None  # swept, or the job restarted, just now
        # A chunk's samples never change (a restarted run makes the same ones): cache for good.
        # Not a redirect to a signed URL (STORAGE=s3), though: that URL expires in minutes.
        if response.status_code != 302:
            response["Cache-Control"] = "private, max-age=31536000, immutable"
        return response


class StemViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = StemSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Stem.objects.none()
        return Stem.objects.filter(
            job__in=jobs_visible_to(self.request.user), job__status=SeparationJob.Status.SUCCEEDED
        )

    @extend_schema(
        responses={(200, "audio/*"): BINARY, (206, "audio/*"): BINARY},
        parameters=[
            OpenApiParameter(
                "rendition",
                str,
                enum=sorted(STEM_RENDITIONS),
                description="mp3 (default, what the players stream), flac or wav (downloads, named after the song)",
            ),
            OpenApiParameter("download", bool, description="Send the MP3 as an attachment too."),
        ],
    )
    @action(detail=True, methods=["get"])
    def audio(self, request, pk=None):
        stem = self.get_object()
        wanted = request.query_params.get("rendition", "mp3")
        if wanted not in STEM_RENDITIONS:
            raise APIError(
                f"Unknown rendition {wanted!r}; use one of: {', '.join(downloads.RENDITIONS)}.",
                code="invalid_rendition",
                status=400,
            )
        if wanted == "mp3" and not request.query_params.get("download"):
            # What the players stream: inline, with Range for seeking.
            return ranged_file_response(request, stem.compressed, content_type=_content_type(stem.compressed.name))
        return downloads.stem_download(stem, wanted, _song_name_for(request.user, stem))

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Peaks.")})
    @action(detail=True, methods=["get"])
    def peaks(self, request, pk=None):
        stem = self.get_object()
        return ranged_file_response(request, stem.peaks, content_type="application/json")


def _content_type(name):
    return {".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg"}.get(
        name[name.rfind(".") :], "application/octet-stream"
    )


def _song_name_for(user, stem):
    """The song as ``user`` knows these stems: their track of that audio, else their fork; else unnamed."""
    track = Track.objects.owned_by(user).filter(sha256=stem.job.sha256).only("title", "artist").first()
    if track is None:
        track = Remix.objects.owned_by(user).filter(job=stem.job_id).only("title", "artist").first()
    return downloads.song_name(track.title, track.artist) if track else "Stems"
