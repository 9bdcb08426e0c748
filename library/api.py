from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.quotas import quota_for
from platform.api_errors import APIError, JSONParser
from platform.throttling import UPLOADS
from separation import services as separation
from separation.models import SeparationJob
from separation.models_install import has_checkpoint, model_dir
from separation.serializers import JobSerializer, SeparationRequestSerializer

from . import downloads
from .api_jobs import too_many_jobs_as_429
from .ingest import IngestError, ingest
from .lyrics_api import LyricsSerializer, lrc_from_upload
from .models import Lyrics, Track
from .scores_api import SavedScoreSerializer, ScoreSerializer, ScoresSerializer, save_score, scores_of
from .serializers import TrackSerializer, TrackUploadSerializer
from .streaming import ranged_file_response
from .upload_handlers import upload_error

BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file; HTTP Range requests get 206.")


class UploadThrottle(BaseThrottle):
    """One count of ``UPLOADS`` (per user, shared with the library page) per upload request."""

    def allow_request(self, request, view):
        self.waiting = UPLOADS.spend(request.user.pk)
        return self.waiting is None

    def wait(self):
        return self.waiting


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": TrackUploadSerializer},
        responses={201: TrackSerializer, 200: OpenApiResponse(TrackSerializer, description="Already in your library.")},
    )
)
class TrackViewSet(viewsets.ModelViewSet):
    """Your songs. Other people's tracks do not exist here (404)."""

    serializer_class = TrackSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    search_fields = ["title", "artist"]
    ordering_fields = ["title", "artist", "created", "duration", "size"]
    ordering = ["-created"]

    def get_throttles(self):
        # Only uploads: the library's reads stay as fast as the benchmark measures them.
        return [UploadThrottle()] if self.action == "create" else []

    def throttled(self, request, wait):
        raise exceptions.Throttled(wait, detail="Too many uploads; wait a little before the next one.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Track.objects.none()
        return Track.objects.owned_by(self.request.user).with_latest_job()

    def create(self, request, *args, **kwargs):
        uploaded = request.FILES.get("file")
        refused = upload_error(request)
        if refused:
            raise APIError(refused.message, code=refused.code, status=refused.status)
        fields = TrackUploadSerializer(
            data={k: v for k, v in request.data.items() if k in {"title", "artist"}}, partial=True
        )
        fields.is_valid(raise_exception=True)
        try:
            result = ingest(request.user, uploaded, **fields.validated_data)
        except IngestError as exc:
            raise APIError(exc.message, code=exc.code, status=exc.status) from None
        body = {**self.get_serializer(result.track).data, "duplicate": not result.created}
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        responses={(200, "audio/*"): BINARY, (206, "audio/*"): BINARY},
        parameters=[OpenApiParameter("download", bool, description="Send as an attachment.")],
    )
    @action(detail=True, methods=["get"], url_path="audio", url_name="audio")
    def audio(self, request, pk=None):
        track = self.get_object()
        # Named after the song, like the stems; the extension is the stored file's (its real format).
        download_name = (
            downloads.file_name(downloads.song_name(track.title, track.artist), downloads.extension(track.original))
            if request.query_params.get("download")
            else None
        )
        return ranged_file_response(
            request, track.original, content_type=track.content_type, download_name=download_name, etag=track.sha256
        )

    @extend_schema(
        responses={(200, "application/zip"): BINARY},
        parameters=[
            OpenApiParameter(
                "rendition", str, enum=list(downloads.RENDITIONS), description="flac (default), wav or mp3"
            )
        ],
    )
    @action(detail=True, methods=["get"], url_path="stems-zip", url_name="stems-zip")
    def stems_zip(self, request, pk=None):
        """All of this song's stems in one zip, "Artist – Title (vocals).flac" and so on, streamed."""
        track = self.get_object()
        rendition = request.query_params.get("rendition", "flac")
        if rendition not in downloads.RENDITIONS:
            raise APIError(
                f"Unknown rendition {rendition!r}; use one of: {', '.join(downloads.RENDITIONS)}.",
                code="invalid_rendition",
                status=400,
            )
        if track.latest_job_status != SeparationJob.Status.SUCCEEDED:
            raise APIError(
                "This song has no stems yet: split it first, then download them.", code="no_stems", status=409
            )
        job = SeparationJob.objects.get(pk=track.latest_job_id)
        stems = sorted(job.stems.all(), key=lambda stem: job.stem_names.index(stem.name))
        return downloads.stems_zip(stems, rendition, downloads.song_name(track.title, track.artist))

    @extend_schema(responses={(200, "application/json"): BINARY})
    @action(detail=True, methods=["get"], url_path="peaks", url_name="peaks")
    def peaks(self, request, pk=None):
        """The original's waveform, measured at upload: a JSON list of peaks (0..1), ~1000 a minute."""
        track = self.get_object()
        if not track.peaks:
            raise Http404("This track's waveform was not measured (it was uploaded before waveforms were).")
        return ranged_file_response(request, track.peaks, content_type="application/json")

    @extend_schema(responses={(200, "image/jpeg"): BINARY})
    @action(detail=True, methods=["get"], url_path="cover", url_name="cover")
    def cover(self, request, pk=None):
        track = self.get_object()
        if not track.cover:
            raise Http404("This track has no cover picture.")
        return ranged_file_response(request, track.cover, content_type="image/jpeg")

    @extend_schema(
        methods=["POST"],
        request=SeparationRequestSerializer,
        responses={202: JobSerializer, 200: OpenApiResponse(JobSerializer, description="The existing job.")},
    )
    @extend_schema(methods=["GET"], responses=JobSerializer(many=True))
    @action(detail=True, methods=["post", "get"], url_path="separations", url_name="separations")
    def separations(self, request, pk=None):
        """POST asks for stems (``{"model": "2stems"}``); GET lists this track's jobs."""
        track = self.get_object()
        if request.method == "GET":
            jobs = separation.jobs_for_audio(track.sha256).asked_for_by(request.user).with_request_of(request.user)
            return Response(JobSerializer(jobs, many=True).data)
        wanted = SeparationRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        model = wanted.validated_data["model"]
        if not has_checkpoint(model_dir(model)):
            raise APIError(
                f"The {model} model is not installed on this server; an administrator can run "
                f"`python manage.py install_models --model {model}`.",
                code="model_not_installed",
                status=400,
            )
        with too_many_jobs_as_429():
            job, created = separation.request_separation(
                sha256=track.sha256,
                source=track.original.name,
                model=model,
                user=request.user,
                seconds=track.duration,
                max_in_flight=quota_for(request.user).max_active_jobs,
            )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)

    @extend_schema(methods=["GET"], responses=ScoresSerializer)
    @extend_schema(methods=["POST"], request=ScoreSerializer, responses={201: SavedScoreSerializer})
    @action(detail=True, methods=["get", "post"], url_path="scores", url_name="scores")
    def scores(self, request, pk=None):
        """The karaoke coach's scores: POST one (``score`` 0-10000, ``difficulty``); GET the personal bests."""
        track = self.get_object()
        if request.method == "GET":
            return Response(ScoresSerializer(scores_of(track)).data)
        sung = ScoreSerializer(data=request.data)
        sung.is_valid(raise_exception=True)
        saved = save_score(track, sung.validated_data)
        return Response(SavedScoreSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=LyricsSerializer)
    @extend_schema(methods=["PUT", "PATCH"], request=LyricsSerializer, responses=LyricsSerializer)
    @extend_schema(methods=["DELETE"], responses={204: None})
    @action(detail=True, methods=["get", "put", "patch", "delete"], url_path="lyrics", url_name="lyrics")
    def lyrics(self, request, pk=None):
        """Synced lyrics: PUT LRC text (JSON ``lrc``) or an .lrc file (multipart ``file``); PATCH ``offset_ms``."""
        track = self.get_object()
        current = Lyrics.objects.filter(track=track).first()
        if request.method == "GET":
            if current is None:
                raise Http404("This track has no lyrics yet.")
            return Response(LyricsSerializer(current).data)
        if request.method == "DELETE":
            if current is None:
                raise Http404("This track has no lyrics.")
            current.delete()
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = {k: v for k, v in request.data.items() if k in {"lrc", "offset_ms"}}
        if "file" in request.FILES:
            data["lrc"] = lrc_from_upload(request.FILES["file"])
        if request.method == "PATCH" and current is None:
            raise Http404("This track has no lyrics to change; PUT them first.")
        serializer = LyricsSerializer(current, data=data, partial=request.method == "PATCH")
        serializer.is_valid(raise_exception=True)
        saved = serializer.save(track=track)
        return Response(LyricsSerializer(saved).data, status=status.HTTP_200_OK if current else status.HTTP_201_CREATED)
