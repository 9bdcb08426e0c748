"""What a share link opens, to anyone holding it: one remix, read-only, and nothing else.

Every view here starts from the token and reaches only that remix's stems, its
lyrics and its finished mixdown; never the owner's original upload, other
tracks or other remixes. A revoked link answers 404 to everyone except the owner,
but for its page: a 410 page saying "This link was revoked".
A link whose remix was deleted (with its track, or with its owner's account) is
remembered only as a digest of its token (``RemovedShareLink``): its page and data
answer 410 "removed", its audio 404. The views answer GET and HEAD only (405 otherwise).

Forks -- the rule. A signed-in holder of a live link may fork the remix
(``POST /api/shares/{token}/fork/``): their own remix over the same stems, no files
copied. A fork lives only as long as the remix it came from, and only while that
remix's owner lets it:

- Revoking a share link stops new forks through it (the link is 404 to everyone but
  the owner); forks already made keep playing. To end those, the owner of the
  original sees its forks (``GET /api/remixes/{id}/forks/``: who, when, shared or not)
  and revokes them one by one (``POST /api/remixes/{id}/forks/{fork_id}/revoke/``).
- Deleting the original remix -- or its track, which deletes its remixes -- ends
  every fork of it.
- Either way the fork is *cut off* (``Remix.objects.cut_off``), and so is every fork
  made from it, at any depth: its row stays so its owner sees why
  (``"available": false, "unavailable_reason": ...`` in the API, a notice on its
  page), but it no longer points at the stems, so its owner's stem URLs are 404,
  its renders are deleted, and its share links show a "removed" page (410) with
  none of the original's title, artist, owner, cover or audio.
- Forks never keep audio alive: the stems go with the last *track* holding that
  audio (``library.signals``), unless another user's own track holds the same bytes.
- Cutting off is final; the fork's owner can only delete it.
"""

import re

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from separation.models import SeparationJob

from . import lrc
from .models import Lyrics, Mixdown, RemovedShareLink, ShareLink
from .streaming import ranged_file_response

# What secrets.token_urlsafe makes; anything else cannot be a token (and a NUL
# byte would make PostgreSQL fail the lookup instead of finding nothing).
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,64}")
STEM_NAME_FORMAT = re.compile(r"[a-z]{1,20}")


def share_link(request, token):
    """The share link for ``token`` as ``request``'s user may see it (its remix maybe cut off), or 404."""
    if not TOKEN_FORMAT.fullmatch(token or ""):
        raise Http404("No such share link.")
    link = ShareLink.objects.filter(token=token).select_related("remix__job", "remix__track", "remix__owner").first()
    if link is None:
        raise Http404("No such share link.")
    if link.revoked_at is not None and request.user != link.remix.owner:
        raise Http404("No such share link.")
    return link


def live_share(request, token):
    """The share link for ``token`` with stems to play, or 404 (a cut-off fork's link plays nothing)."""
    link = share_link(request, token)
    remix = link.remix
    if not remix.available:
        raise Http404(remix.unavailable_reason)
    if remix.job.status != SeparationJob.Status.SUCCEEDED:
        raise Http404("No such share link.")
    return link


def _stem(link, name):
    stem = link.remix.job.stems.filter(name=name).first() if STEM_NAME_FORMAT.fullmatch(name) else None
    if stem is None:
        raise Http404("No such stem in this remix.")
    return stem


def share_data(request, link):
    remix = link.remix
    track = remix.track
    lyrics = Lyrics.objects.filter(track=track).first() if track else None
    token = link.token
    stems = []
    for stem in remix.job.stems.all():
        stems.append(
            {
                "name": stem.name,
                "settings": remix.stems.get(stem.name),
                "audio_url": reverse("share-stem-audio", args=[token, stem.name]),
                "peaks_url": reverse("share-stem-peaks", args=[token, stem.name]),
                "duration": stem.duration,
            }
        )
    has_mixdown = _current_mixdown(remix) is not None
    return {
        "available": True,
        "unavailable_reason": "",
        "name": remix.name,
        "title": remix.title,
        "artist": remix.artist,
        "owner": remix.owner.username,
        "revoked": link.revoked_at is not None,
        "stems": stems,
        "cover_url": reverse("share-cover", args=[token]) if track and track.cover else None,
        "mixdown_url": reverse("share-mixdown", args=[token]) if has_mixdown else None,
        "lyrics": {"offset_ms": lyrics.offset_ms, "lines": lrc.parse(lyrics.lrc).as_json()} if lyrics else None,
        "fork_url": reverse("share-fork", args=[token]),
    }


def removed_data(link):  # the data.json of a cut-off fork's link
    # Nothing of the original -- its title, artist, owner or cover -- once its owner took it away.
    return {"available": False, "unavailable_reason": link.remix.unavailable_reason}


# A link whose remix was deleted (with its track or its owner's account): RemovedShareLink.
DELETED = {"available": False, "unavailable_reason": "Its owner removed this remix."}


def _deleted(token):
    return TOKEN_FORMAT.fullmatch(token or "") and RemovedShareLink.was_removed(token)


def _gone(request, heading, reason):
    # A branded page saying why the link plays nothing: someone sent it to this visitor.
    context = {"heading": heading, "data": {"available": False, "unavailable_reason": reason}}
    response = render(request, "frontend/share_removed.html", context, status=410)
    # A 410 is cacheable by default, but its reason can change (revoked, then deleted).
    add_never_cache_headers(response)
    return response


def _revoked_for(request, token):
    """Whether ``token`` is a revoked link that ``request``'s user (not its owner) holds."""
    if not TOKEN_FORMAT.fullmatch(token or ""):
        return False
    link = ShareLink.objects.filter(token=token, revoked_at__isnull=False).select_related("remix").first()
    return link is not None and request.user != link.remix.owner


@require_safe
def share_page(request, token):
    # The page (not the data or the media, which stay 404) tells a visitor why the link is dead.
    if _deleted(token):
        return _gone(request, "This remix was removed", DELETED["unavailable_reason"])
    if _revoked_for(request, token):
        return _gone(request, "This link was revoked", "Its owner stopped sharing this remix.")
    link = share_link(request, token)
    if not link.remix.available:
        return _gone(request, "This remix is no longer available", link.remix.unavailable_reason)
    link = live_share(request, token)
    data = share_data(request, link)
    context = {
        "link": link,
        "data": data,
        "page_url": request.build_absolute_uri(),
        "cover_absolute": request.build_absolute_uri(data["cover_url"]) if data["cover_url"] else None,
    }
    return render(request, "frontend/share.html", context)


@require_safe
def share_json(request, token):
    if _deleted(token):
        return JsonResponse(DELETED, status=410)
    link = share_link(request, token)
    if not link.remix.available:
        return JsonResponse(removed_data(link), status=410)
    return JsonResponse(share_data(request, live_share(request, token)))


@require_safe
def share_stem_audio(request, token, name):
    stem = _stem(live_share(request, token), name)
    return ranged_file_response(request, stem.compressed, content_type="audio/mpeg")


@require_safe
def share_stem_peaks(request, token, name):
    stem = _stem(live_share(request, token), name)
    return ranged_file_response(request, stem.peaks, content_type="application/json")


@require_safe
def share_cover(request, token):
    track = live_share(request, token).remix.track
    if not track or not track.cover:
        raise Http404("This remix has no cover picture.")
    return ranged_file_response(request, track.cover, content_type="image/jpeg")


@require_safe
def share_mixdown(request, token):
    remix = live_share(request, token).remix
    mixdown = _current_mixdown(remix)
    if mixdown is None:
        raise Http404("This remix has no finished mixdown.")
    return ranged_file_response(
        request, mixdown.mp3, content_type="audio/mpeg", download_name=f"{remix.title} ({remix.name}).mp3"
    )


def _current_mixdown(remix):
    """The finished render of the remix's current settings; an older render is another mix."""
    return remix.mixdowns.filter(status=Mixdown.Status.SUCCEEDED, stems=remix.stems).first()
