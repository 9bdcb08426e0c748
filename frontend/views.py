from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from library.downloads import RENDITIONS
from library.ingest import IngestError, ingest
from library.models import Remix, Score, Track
from library.upload_handlers import upload_error
from platform.throttling import UPLOADS
from separation import analysis_tasks
from separation.models import SeparationJob
from separation.serializers import StemSerializer

from .forms import TrackEditForm, UploadForm

SORTS = {
    "newest": "-created",
    "oldest": "created",
    "title": "title",
    "artist": "artist",
    "longest": "-duration",
}
PAGE_SIZE = 24


def home(request):
    """Signed in: the library. Anyone else: what Stemroom is, and the way in."""
    if request.user.is_authenticated:
        return redirect("library")
    return render(request, "frontend/landing.html")


@login_required
def library(request):
    form = UploadForm()
    status = 200
    # Checked before the form is read: a throttled upload is never probed or stored.
    wait = UPLOADS.spend(request.user.pk) if request.method == "POST" else None
    throttled = None
    if wait is not None:
        throttled = f"Too many uploads; wait {max(1, round(wait / 60))} minute(s) before the next one."
        status = 429
    elif request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        refused = upload_error(request)
        if refused:
            form.add_error("file", refused.message)
            status = refused.status
        elif form.is_valid():
            try:
                result = ingest(
                    request.user,
                    form.cleaned_data["file"],
                    title=form.cleaned_data["title"],
                    artist=form.cleaned_data["artist"],
                )
            except IngestError as exc:
                form.add_error("file", exc.message)
                status = exc.status
            else:
                if result.created:
                    messages.success(request, f"Uploaded “{result.track}”.")
                else:
                    messages.info(request, f"You already have this song: “{result.track}”. Nothing was uploaded twice.")
                return redirect("track", pk=result.track.pk)
        else:
            status = 400

    query = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "newest")
    tracks = Track.objects.owned_by(request.user).with_latest_job()
    if query:
        tracks = tracks.filter(Q(title__icontains=query) | Q(artist__icontains=query))
    tracks = tracks.order_by(SORTS.get(sort, "-created"))
    page = Paginator(tracks, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query,
        "sort": sort,
        "sorts": SORTS,
        "throttled": throttled,
        "forks": library_forks(request.user, query) if page.number == 1 else [],
    }
    response = render(request, "frontend/library.html", context, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def library_forks(user, query=""):
    """The shared remixes this user added to their library, as songs: each with the original's
    cover (read through the fork, nothing copied), or, cut off, the reason it stopped playing."""
    forks = Remix.objects.owned_by(user).forks().select_related("forked_from__owner", "forked_from__track")
    if query:
        forks = forks.filter(Q(title__icontains=query) | Q(artist__icontains=query) | Q(name__icontains=query))
    forks = list(forks.order_by("-created"))
    for fork in forks:
        track = fork.song_track()
        fork.has_cover = bool(track and track.cover)
    return forks


def finished_job(track):
    """The track's succeeded separation job, or None."""
    if track.latest_job_status != SeparationJob.Status.SUCCEEDED:
        return None
    return SeparationJob.objects.get(pk=track.latest_job_id)


def finished_stems(job):
    """The stems of a finished split, in the model's order (none without one)."""
    if job is None:
        return []
    return sorted(job.stems.all(), key=lambda stem: job.stem_names.index(stem.name))


def finished_analysis(job):
    """The song's key and tempo once analysed; a split from before analyses gets its analysis started now."""
    if job is None:
        return None
    analysis = analysis_tasks.start_for(job)
    return analysis if analysis.status == analysis.Status.SUCCEEDED else None


@login_required
def track(request, pk):
    track = get_object_or_404(Track.objects.owned_by(request.user).with_latest_job(), pk=pk)
    form = TrackEditForm(request.POST or None, instance=track)
    job = finished_job(track)
    context = {
        "track": track,
        "form": form,
        "download_stems": finished_stems(job),
        "renditions": RENDITIONS,
        "analysis": finished_analysis(job),
    }
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Saved.")
            return redirect("track", pk=track.pk)
        return render(request, "frontend/track.html", context, status=400)
    return render(request, "frontend/track.html", context)


@login_required
def karaoke(request, pk):
    """The karaoke player over this song's vocals and accompaniment: the finished stems, or,
    while the 2stems job runs, its progressive chunks ("sing now"); with neither, a Split button."""
    track = get_object_or_404(Track.objects.owned_by(request.user).with_latest_job(), pk=pk)
    status = track.latest_job_status
    context = {
        "track": track,
        "playable": status == SeparationJob.Status.SUCCEEDED or status in SeparationJob.UNFINISHED,
        "duration": track.duration,
        "back_url": reverse("track", args=[track.pk]),
        "separations_url": reverse("track-separations", args=[track.pk]),
        "lyrics_url": reverse("track-lyrics", args=[track.pk]),
        "scores_url": reverse("track-scores", args=[track.pk]),
        "difficulties": Score.Difficulty.choices,
    }
    return render(request, "frontend/karaoke.html", context)


@login_required
def remix_karaoke(request, pk):
    """Karaoke over a fork's stems, with the original owner's lyrics, read-only (they edit them, not you)."""
    remix = get_object_or_404(Remix.objects.owned_by(request.user).select_related("job"), pk=pk)
    if remix.track_id:
        return redirect("karaoke", pk=remix.track_id)
    context = {
        "track": remix,
        "fork": remix,
        # Forks are made from finished separations only; a cut-off one plays nothing.
        "playable": remix.available,
        "duration": remix.job.duration if remix.available else 0,
        "back_url": reverse("remix", args=[remix.pk]),
        "separations_url": reverse("remix-separations", args=[remix.pk]),
        "lyrics_url": reverse("remix-lyrics", args=[remix.pk]),
        # No scores_url: a fork has no track of its own to keep scores on; the coach scores, nothing is saved.
        "difficulties": Score.Difficulty.choices,
    }
    return render(request, "frontend/karaoke.html", context)


@login_required
@require_POST
def track_delete(request, pk):
    track = get_object_or_404(Track.objects.owned_by(request.user), pk=pk)
    name = str(track)
    track.delete()
    messages.success(request, f"Deleted “{name}”.")
    return redirect("library")


def remix_link(remix):
    """Where a remix opens: its track page's mixer, or (a fork, which has no track) its own page."""
    if remix.track_id:
        return f"{reverse('track', args=[remix.track_id])}?remix={remix.pk}"
    return reverse("remix", args=[remix.pk])


@login_required
def remix_list(request):
    """My remixes, of my own tracks and forks of other people's shared ones."""
    mine = (
        Remix.objects.owned_by(request.user)
        .select_related("forked_from__owner")
        .annotate(live_links=Count("share_links", filter=Q(share_links__revoked_at__isnull=True)))
        .order_by("-updated")
    )
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    for item in items:
        item.link = remix_link(item)
    return render(request, "frontend/remixes.html", {"page": page, "remixes": items})


@login_required
def remix_page(request, pk):
    """A fork's player and mixer; a remix of one of my tracks opens on its track page instead."""
    remix = get_object_or_404(Remix.objects.owned_by(request.user).select_related("job", "forked_from__owner"), pk=pk)
    if remix.track_id:
        return redirect(remix_link(remix))
    if not remix.available:
        # Cut off: the stems are gone from its reach; say why, and offer only to delete it.
        return render(request, "frontend/remix.html", {"remix": remix, "stems": []})
    # The remix API lists no stem URLs; the fork's owner may fetch its job's stems (api_jobs.jobs_visible_to).
    stems = StemSerializer(remix.job.stems.all(), many=True).data
    track = remix.song_track()
    context = {"remix": remix, "stems": stems, "has_cover": bool(track and track.cover)}
    return render(request, "frontend/remix.html", context)
