"""Every URL pattern of the project, as anonymous, another user, the owner and staff, with every method.

The matrix is generated from ``get_resolver()``: a new endpoint is in it the moment it is
routed, and a pattern this test does not know how to fill with real ids FAILS the test --
add it to ``OBJECT_ROUTES``, ``COLLECTION_ROUTES`` or ``PUBLIC_ROUTES`` below, deciding
who may reach it. What it proves, for every request:

- nobody ever gets a 500;
- a stranger -- anonymous, bob, or (admin pages) a user who is not staff -- never gets a
  2xx on someone else's object, and never changes anyone else's rows or files (the
  database and the media folder are compared before and after each of their requests);
- a stranger's 2xx on a list names nothing of the others' (ids, hash, titles);
- a fork that was cut off (library.sharing) gives its own owner no stems or jobs either,
  and its share link serves nothing to anyone;
- share pages answer GET and HEAD only.

Every request runs in a savepoint that is rolled back, so each one meets the same data.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django_q.models import OrmQ, Schedule, Task
from rest_framework.authtoken.models import Token

from library.models import Lyrics, Mixdown, Remix, ShareLink, Track
from separation.models import SeparationJob, Stem, StemVersion
from tests.separated import separated_track

METHODS = ["get", "head", "post", "put", "patch", "delete"]

# Anyone may open these; they only must not fail or change anything.
PUBLIC_ROUTES = {
    "healthz",
    "schema",
    "api-docs",
    "home",
    "login",
    "logout",
    "signup",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "admin:login",
    "admin:logout",
}
# Share links: public to whoever holds the token (library.sharing); a cut-off fork's link serves nothing.
SHARE_ROUTES = {"share-page", "share-data", "share-stem-audio", "share-stem-peaks", "share-cover", "share-mixdown"}
# Signed-in token holders may fork; everything else needs the owner.
SHARE_FORK = "share-fork"

# A remix's song as its owner's library shows it (a fork reads the original's cover, lyrics and stems).
SONG_THROUGH_REMIX = {"remix-cover", "remix-lyrics", "remix-separations"}
# Object routes: which object of a subject fills ``pk``.
OBJECT_ROUTES = {
    "track": {"track-detail", "track-audio", "track-cover", "track-peaks", "track-lyrics", "track-separations"}
    | {"track-scores"}
    | {"track-stems-zip"}
    | {"track", "karaoke", "track-delete"},
    "job": {"job-detail", "job-cancel", "job-retry", "job-mixture-peaks", "job-chunks", "job-chunk", "job-analysis"}
    | {"job-versions", "job-version", "job-version-audio"},
    "stem": {"stem-detail", "stem-audio", "stem-peaks"},
    "remix": {"remix-detail", "remix-forks", "remix-mixdown", "remix-mixdowns", "remix-render", "remix-fork-revoke"}
    | SONG_THROUGH_REMIX
    | {"remix", "remix-karaoke"},
    "token": {"share-detail", SHARE_FORK} | SHARE_ROUTES,
}
# Your own lists and forms: a stranger may get a 2xx, but only with nothing of anyone else's in it.
COLLECTION_ROUTES = {
    "api-root",
    "track-list",
    "job-list",
    "remix-list",
    "share-list",
    "library",
    "remixes",
    "profile",
    "token-create",
    "token-revoke",
    "password_change",
    "email-change",
    "account-delete",
}
# Staff only, like every admin page: a signed-in user who is not staff is a stranger here.
STAFF_ROUTES = {"api-monitoring", "admin-monitoring"}


@dataclass
class Subject:
    """Someone's objects, and who must not reach them."""

    name: str
    owner: User
    ids: dict
    strangers: set = field(default_factory=lambda: {"anonymous", "bob"})
    # Routes whose objects even the owner must not reach (a cut-off fork's stems and link).
    gone: set = field(default_factory=set)


@dataclass
class Case:
    url: str
    route: str
    name: str
    subject: Subject | None
    public: bool = False
    gone: bool = False


def walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


def fill(route, values):
    """The route with each converter or named group replaced by its value; KeyError if one is unknown."""

    def value(match):
        if match.group("conv") == "drf_format_suffix":
            return "." + values["format"]
        return str(values[match.group("name")])

    url = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)(?P<conv>)", value, route)
    url = re.sub(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>", value, url)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    if re.search(r"[()\\<>?*+\[\]]", url):
        raise KeyError(url)
    return "/" + url


def admin_model(route):
    """The model behind an admin route like admin/library/track/<path:object_id>/change/."""
    parts = route.split("/")
    if len(parts) < 4 or parts[0] != "admin":
        return None
    for model in admin.site._registry:
        if (model._meta.app_label, model._meta.model_name) == (parts[1], parts[2]):
            return model
    return None


@pytest.fixture
def world(db, tmp_path):
    """alice's whole library; carol's fork of alice's shared remix; dave's fork of carol's, cut off."""
    alice = User.objects.create_user("alice", "alice@example.com", "correct horse battery")
    bob = User.objects.create_user("bob", "bob@example.com", "another good passphrase")
    carol = User.objects.create_user("carol", "carol@example.com", "a third good passphrase")
    dave = User.objects.create_user("dave", "dave@example.com", "a fourth good passphrase")
    staff = User.objects.create_user("staff", "staff@example.com", "staff passphrase!", is_staff=True)
    staff.is_superuser = True
    staff.save()

    track, job = separated_track(alice, tmp_path, cover=True)
    job.mixture_peaks.save(f"{job.storage_prefix}/mixture.peaks.json", ContentFile(b"[0.1]"))
    track.title = "Alices Private Title"
    track.save()
    Lyrics.objects.create(track=track, lrc="[00:00.50]Alices secret words")
    mix = {name: {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0} for name in job.stem_names}

    def remix(owner, source=None, **fields):
        made = Remix.objects.create(
            owner=owner, job=job, stems=mix, title=track.title, artist="", forked_from=source, **fields
        )
        done = Mixdown.objects.create(remix=made, stems=mix, status=Mixdown.Status.SUCCEEDED)
        done.mp3.save(f"mixdowns/{made.pk}/m.mp3", ContentFile(job.stems.first().compressed.read()))
        return made, ShareLink.objects.create(remix=made)

    alices, alice_link = remix(alice, name="Alices shared mix", track=track)
    remix(alice, name="Alices private mix", track=track)
    carols, carol_link = remix(carol, alices, name="Carols fork")
    daves, dave_link = remix(dave, carols, name="Daves fork")
    daves.revoke_fork()  # carol took it back: dave is a stranger to the stems now
    Token.objects.create(user=alice)
    stem = job.stems.get(name="vocals")
    # A finished key/tempo version of alice's stems (its files are copies of the stems).
    version = StemVersion.objects.create(job=job, semitones=2, tempo=90, status=StemVersion.Status.SUCCEEDED)
    for name in ("accompaniment", "vocals"):
        getattr(version, name).save(version.storage_name(name), ContentFile(stem.compressed.read()), save=False)
    version.save()
    schedule = Schedule.objects.create(func="math.floor", args="1")
    # uidb64: a password-reset link's user part (its token is the share token here: an invalid one).
    ids = {"job": job.pk, "stem": stem.pk, "name": "vocals", "index": 0, "format": "json", "uidb64": "MQ"}
    ids |= {"version_id": version.pk}
    subjects = [
        Subject("alice", alice, {**ids, "track": track.pk, "remix": alices.pk, "fork": carols.pk, "token": alice_link}),
        Subject("carol's fork", carol, {**ids, "remix": carols.pk, "fork": daves.pk, "token": carol_link}),
        Subject(
            "dave's cut-off fork",
            dave,
            {**ids, "remix": daves.pk, "fork": uuid.uuid4(), "token": dave_link},
            gone=OBJECT_ROUTES["job"] | OBJECT_ROUTES["stem"] | SHARE_ROUTES | SONG_THROUGH_REMIX | {SHARE_FORK},
        ),
    ]
    for subject in subjects:
        subject.ids["token"] = subject.ids["token"].token
    # What the admin's object routes open: one real row of each registered model.
    admin_objects = {
        Track: track,
        Remix: alices,
        ShareLink: alice_link,
        Mixdown: Mixdown.objects.filter(remix=alices).first(),
        Lyrics: track.lyrics,
        SeparationJob: job,
        Stem: stem,
        User: alice,
        Schedule: schedule,
    }
    secrets = [str(track.pk), track.sha256, track.title, "Alices secret words", "Alices private mix", str(alices.pk)]
    secrets += [str(carols.pk), str(daves.pk), alice_link.token, carol_link.token, "alice@example.com"]
    return {
        "users": {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "staff": staff},
        "subjects": subjects,
        "admin_objects": admin_objects,
        "secrets": secrets,
    }


def admin_object_id(model, objects):
    obj = objects.get(model) or model._default_manager.first()
    if obj is None:
        # django-q's own bookkeeping rows; an id that does not exist still walks the route.
        return {OrmQ: 1, Task: "nope"}.get(model, 1)
    return obj.pk


def build_cases(world):
    """Every routed pattern, filled with real ids; the patterns it could not fill."""
    cases, unknown = [], []
    alice = world["subjects"][0]
    for route, name in walk(get_resolver()):
        bare = name.split(":")[-1] if name else None
        kind = next((k for k, names in OBJECT_ROUTES.items() if name in names), None)
        try:
            if name in PUBLIC_ROUTES:
                cases.append(Case(fill(route, alice.ids), route, name, None, public=True))
            elif name in COLLECTION_ROUTES:
                cases.append(Case(fill(route, alice.ids), route, name, None))
            elif kind:
                for subject in world["subjects"]:
                    if kind not in subject.ids or (subject is not alice and "format" in route):
                        continue
                    values = {**subject.ids, "pk": subject.ids[kind], "fork_id": subject.ids["fork"]}
                    public = name in SHARE_ROUTES or name == SHARE_FORK
                    cases.append(
                        Case(fill(route, values), route, name, subject, public=public, gone=name in subject.gone)
                    )
            elif route.startswith("admin/") or name in STAFF_ROUTES:
                # Staff only, every one of them (admin_view): a non-staff user is a stranger here.
                model = admin_model(route)
                values = {"url": "no-such-page/", "app_label": "library", "id": alice.owner.pk}
                if model is not None:
                    values["object_id"] = admin_object_id(model, world["admin_objects"])
                elif bare == "view_on_site":
                    values["content_type_id"] = ContentType.objects.get_for_model(Track).pk
                    values["object_id"] = alice.ids["track"]
                cases.append(Case(fill(route, values), route, name or route, Subject("admin", None, {})))
            else:
                unknown.append(route)
        except KeyError:
            unknown.append(route)
    return cases, unknown


def snapshot(world):
    """Everyone's rows but bob's, and every stored file: what a stranger's request must leave alone.

    Plain SQL: this runs after each of some 2,500 requests, and the ORM took 8 ms a time.
    """
    table = {model: model._meta.db_table for model in (Track, Remix, ShareLink, Mixdown, Lyrics, Token, User)}
    others_remixes = f"SELECT id FROM {table[Remix]} WHERE owner_id <> %s"
    queries = [
        f"SELECT * FROM {table[Track]} WHERE owner_id <> %s",
        f"SELECT * FROM {table[Remix]} WHERE owner_id <> %s",
        f"SELECT * FROM {table[ShareLink]} WHERE remix_id IN ({others_remixes})",
        f"SELECT * FROM {table[Mixdown]} WHERE remix_id IN ({others_remixes})",
        f"SELECT * FROM {table[Lyrics]} WHERE track_id IN (SELECT id FROM {table[Track]} WHERE owner_id <> %s)",
        f"SELECT * FROM {table[Token]} WHERE user_id <> %s",
        # Not last_login: signing in is not a change to someone else's account.
        f"SELECT id, username, email, password, is_active, is_staff FROM {table[User]} WHERE id <> %s",
    ]
    rows = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute(query + " ORDER BY 1", [world["users"]["bob"].pk])
            rows.append(cursor.fetchall())
        for model in (SeparationJob, Stem, StemVersion):
            cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY 1")
            rows.append(cursor.fetchall())
    media = Path(settings.MEDIA_ROOT)
    files = sorted((str(p), p.stat().st_size) for p in media.rglob("*") if p.is_file())
    return rows, files


def clients(world):
    made = {"anonymous": Client(raise_request_exception=False)}
    for role in ("alice", "bob", "carol", "dave", "staff"):
        made[role] = Client(raise_request_exception=False)
        made[role].force_login(world["users"][role])
    return made


def request(client, method, url):
    if method in ("get", "head"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=json.dumps({}), content_type="application/json")


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_every_route_is_in_the_matrix(world):
    cases, unknown = build_cases(world)
    assert not unknown, f"Add these routes to the authorization matrix (who may reach them?): {unknown}"
    for case in cases:
        # Django drops the regex anchors of included patterns from the route it reports.
        assert re.sub(r"(^|/)\^", r"\1", resolve(case.url).route) == re.sub(r"(^|/)\^", r"\1", case.route), case.url


def test_no_stranger_reaches_or_changes_anyones_objects_and_nothing_fails(world):
    cases, _ = build_cases(world)
    roles = clients(world)
    before = snapshot(world)
    failures = []
    for case in cases:
        subject = case.subject
        owner = subject.owner.username if subject and subject.owner else "alice"
        strangers = {"anonymous", "bob"} if subject is None else subject.strangers
        if subject is not None and subject.name == "admin":
            strangers = {"anonymous", "bob", "alice"}
        for role in ["anonymous", "bob", owner, "staff"]:
            client = roles[role]
            for method in METHODS:
                cookies = client.cookies
                client.cookies = type(cookies)(cookies)  # a logout in one request must not sign out the next
                with transaction.atomic():
                    response = request(client, method, case.url)
                    status = response.status_code
                    content = body(response) if 200 <= status < 300 else b""
                    changed = role != owner and role != "staff" and snapshot(world) != before
                    transaction.set_rollback(True)
                client.cookies = cookies
                where = f"{role} {method.upper()} {case.url} [{case.name}] -> {status}"
                if status >= 500 and not (status == 503 and case.name == "healthz"):
                    failures.append(f"{where}: server error")
                if changed:
                    failures.append(f"{where}: changed someone else's rows or files")
                if not 200 <= status < 300:
                    continue
                if case.gone:
                    failures.append(f"{where}: a cut-off fork's stems or link still served")
                elif case.public:
                    if case.name in SHARE_ROUTES and method not in ("get", "head"):
                        failures.append(f"{where}: a share view took {method.upper()}")
                elif subject is not None and role in strangers:
                    failures.append(f"{where}: a stranger reached someone else's object")
                elif subject is None and role == "anonymous":
                    failures.append(f"{where}: an anonymous visitor reached a signed-in page")
                elif role in ("anonymous", "bob"):
                    leaked = [s for s in world["secrets"] if s.encode() in content]
                    if leaked:
                        failures.append(f"{where}: shows {leaked}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
