"""Remixes, share links and forks through the API."""

import uuid

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from platform.api_errors import APIError
from separation.serializers import JobSerializer

from .lyrics_api import LyricsSerializer
from .models import Lyrics, Mixdown, Remix, ShareLink
from .remix_serializers import ForkSerializer, MixdownSerializer, RemixSerializer, ShareLinkSerializer
from .sharing import live_share
from .streaming import ranged_file_response
from .tasks import enqueue_mixdown

BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file; HTTP Range requests get 206.")
RENDITIONS = {"mp3": "audio/mpeg", "flac": "audio/flac"}


KINDS = {"fork": True, "own": False}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("track", str, description="Only this track's"),
            OpenApiParameter(
                "kind",
                str,
                enum=sorted(KINDS),
                description="fork: songs added to your library from share links; own: remixes of your tracks",
            ),
        ]
    )
)
class RemixViewSet(viewsets.ModelViewSet):
    """Your saved remixes: per-stem gain, mute, solo and pan over a separation's stems.

    A fork (a shared remix added to your library, ``"track": null``) is a song of your
    library too: ``cover_url`` and ``lyrics_url`` read the original owner's cover and
    lyrics (read-only, nothing copied), ``karaoke_url`` opens the karaoke player over its
    stems, and ``GET /api/tracks/`` stays the songs you uploaded. ``?kind=fork`` lists them.
    """

    serializer_class = RemixSerializer
    search_fields = ["name", "title", "artist"]
    ordering_fields = ["updated", "created", "name"]
    ordering = ["-updated"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Remix.objects.none()
        remixes = Remix.objects.owned_by(self.request.user).select_related("job")
        track = self.request.query_params.get("track")
        if track:
            remixes = remixes.filter(track_id=track) if _is_uuid(track) else remixes.none()
        kind = self.request.query_params.get("kind") if self.action == "list" else None
        if kind is not None:
            if kind not in KINDS:
                raise APIError(
                    f"Unknown kind {kind!r}; use one of: {', '.join(sorted(KINDS))}.", code="invalid_kind", status=400
                )
            remixes = remixes.filter(track__isnull=KINDS[kind])
        # The song's cover and lyrics come from the track, or for a fork the original's (Remix.song_track).
        remixes = remixes.select_related("track", "forked_from__track")
        return remixes.prefetch_related("share_links", "job__stems")

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    @extend_schema(request=None, responses={202: MixdownSerializer, 200: MixdownSerializer})
    @action(detail=True, methods=["post"])
    def render(self, request, pk=None):
        """Render the remix as it is now to MP3 and FLAC in the background (reuses a finished render)."""
        remix = self.get_object()
        if not remix.available:
            raise APIError(remix.unavailable_reason, code="remix_unavailable", status=409)
        latest = remix.mixdowns.filter(stems=remix.stems).live().first()
        if latest and latest.is_orphaned():
            # Its worker died: requeue it now (or fail it, after too many deaths) rather than
            # hand back a render that will never finish.
            latest.recover()
            latest.refresh_from_db()
        if latest and latest.status in Mixdown.LIVE:
            return Response(MixdownSerializer(latest).data)
        mixdown = Mixdown.objects.create(remix=remix, stems=remix.stems)
        enqueue_mixdown(mixdown)
        return Response(MixdownSerializer(mixdown).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=MixdownSerializer(many=True))
    @action(detail=True, methods=["get"])
    def mixdowns(self, request, pk=None):
        return Response(MixdownSerializer(self.get_object().mixdowns.all(), many=True).data)

    @extend_schema(
        responses={(200, "audio/*"): BINARY},
        parameters=[
            OpenApiParameter("id", str, description="A mixdown id (default: the finished one of the current settings)"),
            OpenApiParameter("rendition", str, enum=sorted(RENDITIONS)),
        ],
    )
    @action(detail=True, methods=["get"])
    def mixdown(self, request, pk=None):
        remix = self.get_object()
        return mixdown_response(request, remix, request.query_params.get("id"))

    def _song_track(self):
        remix = self.get_object()
        track = remix.song_track()
        if track is None:
            raise Http404(remix.unavailable_reason or "This remix's song is gone.")
        return remix, track

    @extend_schema(responses={(200, "image/jpeg"): BINARY})
    @action(detail=True, methods=["get"])
    def cover(self, request, pk=None):
        """The song's cover picture: for a fork, the original owner's (read-only)."""
        _, track = self._song_track()
        if not track.cover:
            raise Http404("This song has no cover picture.")
        return ranged_file_response(request, track.cover, content_type="image/jpeg")

    @extend_schema(responses=LyricsSerializer)
    @action(detail=True, methods=["get"])
    def lyrics(self, request, pk=None):
        """The song's synced lyrics, read-only: for a fork, the original owner's (they edit them, not you)."""
        _, track = self._song_track()
        lyrics = Lyrics.objects.filter(track=track).first()
        if lyrics is None:
            raise Http404("This song has no lyrics yet.")
        return Response(LyricsSerializer(lyrics).data)

    @extend_schema(responses=JobSerializer(many=True))
    @action(detail=True, methods=["get"])
    def separations(self, request, pk=None):
        """The separation this remix mixes, as a list like a track's (what the karaoke player reads)."""
        remix, _ = self._song_track()
        return Response(JobSerializer([remix.job], many=True).data)

    @extend_schema(responses=ForkSerializer(many=True))
    @action(detail=True, methods=["get"])
    def forks(self, request, pk=None):
        """Who added this remix to their library from a share link (direct forks, cut off ones too)."""
        forks = self.get_object().forks.select_related("owner").prefetch_related("share_links").order_by("-created")
        return Response(ForkSerializer(forks, many=True).data)

    @extend_schema(
        request=None,
        responses=ForkSerializer,
        parameters=[OpenApiParameter("fork_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The fork.")],
    )
    @action(detail=True, methods=["post"], url_path=r"forks/(?P<fork_id>[^/.]+)/revoke", url_name="fork-revoke")
    def revoke_fork(self, request, pk=None, fork_id=None):
        """Take the stems away from a fork of this remix (and from forks of that fork); its links stop playing."""
        remix = self.get_object()
        fork = remix.forks.filter(pk=fork_id).first() if _is_uuid(fork_id) else None
        if fork is None:
            raise Http404("No such fork of this remix.")
        fork.revoke_fork()
        return Response(ForkSerializer(fork).data)


def mixdown_response(request, remix, mixdown_id=None):
    rendition = request.query_params.get("rendition", "mp3")
    if rendition not in RENDITIONS:
        raise APIError(f"Unknown rendition {rendition!r}; use 'mp3' or 'flac'.", code="invalid_rendition", status=400)
    done = remix.mixdowns.filter(status=Mixdown.Status.SUCCEEDED)
    if mixdown_id:
        done = done.filter(pk=mixdown_id) if _is_uuid(mixdown_id) else done.none()
    else:
        # Only a render of the remix as it is now; an older one is a different mix.
        done = done.filter(stems=remix.stems)
    mixdown = done.first()
    if mixdown is None:
        raise Http404("No finished mixdown of the current settings; render the remix first.")
    return ranged_file_response(
        request,
        getattr(mixdown, rendition),
        content_type=RENDITIONS[rendition],
        download_name=f"{remix.title} ({remix.name}).{rendition}",
    )


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class ShareLinkViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Share links to your remixes. DELETE revokes a link: it answers 404 to everyone else from then on."""

    serializer_class = ShareLinkSerializer
    lookup_field = "token"
    ordering = ["-created"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ShareLink.objects.none()
        return ShareLink.objects.filter(remix__owner=self.request.user).select_related("remix")

    def perform_destroy(self, link):
        if link.revoked_at is None:
            link.revoked_at = timezone.now()
            link.save(update_fields=["revoked_at"])

    @extend_schema(request=None, responses={201: RemixSerializer})
    @action(detail=True, methods=["post"], url_path="fork")
    def fork(self, request, token=None):
        """Add a shared remix to your library: your own remix over the same stems, no files copied."""
        link = live_share(request, token)
        source = link.remix
        fork = Remix.objects.create(
            owner=request.user,
            track=None,
            job=source.job,
            name=source.name,
            stems=source.stems,
            title=source.title,
            artist=source.artist,
            forked_from=source,
        )
        return Response(RemixSerializer(fork, context={"request": request}).data, status=status.HTTP_201_CREATED)
