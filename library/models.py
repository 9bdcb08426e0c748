import functools
import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import connections, models
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.query import ModelIterable
from django.utils import timezone

from separation.engines.base import EngineError
from separation.jobs import BackgroundJob
from separation.models import SeparationJob, SeparationRequest


def original_path(track, filename):
    # Named by the format ffprobe detected, never by the uploader's name: an "evil.php"
    # that holds MP3 audio is stored as .mp3 (original_name keeps what they called it).
    return f"tracks/{track.owner_id}/{track.id}{EXTENSIONS.get(track.codec, '.audio')}"


def peaks_path(track, filename):
    # Next to the original: the waveform of exactly that file.
    return f"tracks/{track.owner_id}/{track.id}.peaks.json"


def cover_path(track, filename):
    return f"covers/{track.owner_id}/{track.id}.jpg"


class TrackQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def with_latest_job(self, model="2stems", *, as_owner_sees_it=True):
        """Give each track the newest job for ``model`` its owner asked for: ``latest_job_id``,
        ``latest_job_status`` and ``latest_job_progress`` (None when there is none).

        Another person's job for the same audio stays out of sight until the owner asks for
        stems; a request the owner withdrew shows as cancelled, whatever the shared job does.
        The tracks come first, then one more query for all their jobs (_TracksWithLatestJob):
        three correlated subqueries cost ~3 ms a page just to build and compile, most of the
        library API's time. ``as_owner_sees_it=False`` (the admin, which sorts by it): the
        audio's newest job, whoever asked, as annotations.
        """
        if not as_owner_sees_it:
            audio = SeparationJob.objects.filter(sha256=OuterRef("sha256"), model=model).order_by("-queued_at")
            return self.annotate(
                latest_job_id=Subquery(audio.values("id")[:1]),
                latest_job_status=Subquery(audio.values("status")[:1]),
                latest_job_progress=Subquery(audio.values("progress")[:1]),
            )
        clone = self._chain()
        clone._iterable_class = _tracks_with_latest_job(model)
        return clone

    def storage_used_by(self, user):
        return self.owned_by(user).aggregate(total=Sum("size"))["total"] or 0


# Parameters per IN list: well inside every database's limit (SQLite's was 999).
_IN_BATCH = 500


@functools.cache
def _tracks_with_latest_job(model):
    return type(f"TracksWithLatestJob_{model}", (_TracksWithLatestJob,), {"model": model})


class _TracksWithLatestJob(ModelIterable):
    """Yields the tracks once each carries its owner's newest ``model`` job (TrackQuerySet.with_latest_job)."""

    model = None

    def __iter__(self):
        tracks = list(super().__iter__())
        latest = {}
        wanted = sorted({(t.owner_id, t.sha256) for t in tracks})
        with connections[self.queryset.db].cursor() as cursor:
            for batch in (wanted[i : i + _IN_BATCH] for i in range(0, len(wanted), _IN_BATCH)):
                owners, hashes = sorted({owner for owner, _ in batch}), sorted({sha256 for _, sha256 in batch})
                cursor.execute(
                    _latest_jobs_sql(self.queryset.db).format(
                        owners=", ".join(["%s"] * len(owners)), hashes=", ".join(["%s"] * len(hashes))
                    ),
                    [*owners, *hashes, self.model],
                )
                # Oldest first, so the newest of each (owner, audio) is the one left in `latest`.
                for owner, sha256, job_id, cancelled_at, status, progress in cursor.fetchall():
                    shown = SeparationJob.Status.CANCELLED if cancelled_at is not None else status
                    latest[owner, sha256] = (_JOB_ID.to_python(job_id), shown, progress)
        for track in tracks:
            track.latest_job_id, track.latest_job_status, track.latest_job_progress = latest.get(
                (track.owner_id, track.sha256), (None, None, None)
            )
        yield from tracks


_JOB_ID = SeparationJob._meta.pk


@functools.cache
def _latest_jobs_sql(alias):
    """Every ``model`` job the owners {owners} asked for on the audio {hashes}, oldest first.

    Raw SQL, its text made once per database: the same query through the ORM took ~1.4 ms
    to build and compile for each library page of 50, most of its cost (the database
    itself answers in a tenth of that). Placeholders stay %s, so values are always bound.
    """
    quote = connections[alias].ops.quote_name
    request, job = SeparationRequest._meta, SeparationJob._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    return (
        f"SELECT r.{column(request, 'user')}, j.{column(job, 'sha256')}, r.{column(request, 'job')},"
        f" r.{column(request, 'cancelled_at')}, j.{column(job, 'status')}, j.{column(job, 'progress')}"
        f" FROM {quote(request.db_table)} r"
        f" JOIN {quote(job.db_table)} j ON j.{quote(job.pk.column)} = r.{column(request, 'job')}"
        f" WHERE r.{column(request, 'user')} IN ({{owners}}) AND j.{column(job, 'sha256')} IN ({{hashes}})"
        f" AND j.{column(job, 'model')} = %s"
        f" ORDER BY j.{column(job, 'queued_at')}, r.{column(request, 'job')}"
    )


class Track(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracks")
    title = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    original = models.FileField(upload_to=original_path, max_length=300)
    original_name = models.CharField(max_length=300, help_text="File name as uploaded.")
    sha256 = models.CharField(max_length=64, db_index=True)
    codec = models.CharField(max_length=32)
    duration = models.FloatField(help_text="Seconds of decodable audio.")
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    size = models.PositiveBigIntegerField(help_text="Bytes of the original file.")
    cover = models.ImageField(upload_to=cover_path, max_length=300, blank=True)
    # The original's waveform (JSON list of peaks, library.audio_probe), measured at upload;
    # empty for tracks uploaded before it was.
    peaks = models.FileField(upload_to=peaks_path, max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            # The same audio twice in one library is always a mistake: the
            # upload returns the existing track instead.
            models.UniqueConstraint(fields=["owner", "sha256"], name="track_unique_audio_per_owner"),
        ]
        indexes = [models.Index(fields=["owner", "-created"], name="track_owner_created")]

    def __str__(self):
        return f"{self.artist} – {self.title}" if self.artist else self.title

    @property
    def content_type(self):
        return CONTENT_TYPES.get(self.codec, "application/octet-stream")


# What the stream view announces, so browsers pick the right decoder.
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "aac": "audio/mp4",
    "alac": "audio/mp4",
    "flac": "audio/flac",
    "vorbis": "audio/ogg",
    "opus": "audio/ogg",
}
# The stored original's extension, for each codec ingest accepts (library.audio_probe).
EXTENSIONS = {
    "mp3": ".mp3",
    "aac": ".m4a",
    "alac": ".m4a",
    "flac": ".flac",
    "vorbis": ".ogg",
    "opus": ".ogg",
}
for _pcm in ("pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8"):
    CONTENT_TYPES[_pcm] = "audio/wav"
    EXTENSIONS[_pcm] = ".wav"
# Big-endian PCM comes in AIFF.
for _pcm in ("pcm_s16be", "pcm_s24be", "pcm_s32be", "pcm_f32be"):
    EXTENSIONS[_pcm] = ".aiff"


class Lyrics(models.Model):
    """Synced lyrics for a track, kept as the LRC text the user gave (checked by library.lrc)."""

    MAX_OFFSET_MS = 30_000

    track = models.OneToOneField(Track, on_delete=models.CASCADE, primary_key=True, related_name="lyrics")
    lrc = models.TextField()
    offset_ms = models.IntegerField(
        default=0, help_text="Shifts every line: positive shows lyrics later, negative earlier."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "lyrics"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offset_ms__gte=-30_000, offset_ms__lte=30_000), name="lyrics_offset_within_30s"
            )
        ]

    def __str__(self):
        return f"Lyrics of {self.track}"


class ScoreQuerySet(models.QuerySet):
    def personal_bests(self):
        """The highest score at each difficulty, as {"easy": 8412 | None, ...}."""
        best = dict(self.values_list("difficulty").annotate(best=models.Max("score")).values_list("difficulty", "best"))
        return {difficulty: best.get(difficulty) for difficulty in Score.Difficulty.values}


class Score(models.Model):
    """One sung performance of a track, scored by the karaoke coach (frontend/coach.js).

    A track belongs to one person, so its scores are theirs: the personal best is the
    highest score on the track at the difficulty it was sung at.
    """

    MAX = 10_000

    class Difficulty(models.TextChoices):
        # Tolerance in semitones either side of the note, as UltraStar Deluxe and Performous judge.
        EASY = "easy", "Easy (±2 semitones)"
        MEDIUM = "medium", "Medium (±1 semitone)"
        HARD = "hard", "Hard (±½ semitone)"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="scores")
    score = models.PositiveIntegerField(help_text="0 to 10,000, as UltraStar scores a song.")
    difficulty = models.CharField(max_length=6, choices=Difficulty)
    sung_at = models.DateTimeField(auto_now_add=True)

    objects = ScoreQuerySet.as_manager()

    class Meta:
        ordering = ["-sung_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=10_000), name="score_at_most_10000"),
        ]
        indexes = [models.Index(fields=["track", "difficulty", "-score"], name="score_track_best")]

    def __str__(self):
        return f"{self.score} on {self.track} ({self.difficulty})"


def default_token():
    # 32 bytes from the OS CSPRNG: 256 bits, far past guessing.
    return secrets.token_urlsafe(32)


class RemixQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def forks(self):
        """Remixes added from someone's share link: they have no track of their own."""
        return self.filter(track__isnull=True)

    def cut_off(self, reason):
        """End these remixes' access to their stems, and that of every fork made from them, at any depth.

        A cut-off remix keeps its row (its owner sees why it stopped) but no longer points at
        the stems, so nothing that reaches audio through ``Remix.job`` -- the owner's stem
        URLs, share links, renders -- finds any; its mixdowns (renders of someone else's
        audio) are deleted with their files. Returns how many remixes were cut off.
        """
        cut = set(self.filter(cut_off_at__isnull=True).values_list("pk", flat=True))
        frontier = cut
        while frontier:
            frontier = (
                set(
                    Remix.objects.filter(forked_from__in=frontier, cut_off_at__isnull=True).values_list("pk", flat=True)
                )
                - cut
            )
            cut |= frontier
        if not cut:
            return 0
        count = Remix.objects.filter(pk__in=cut, cut_off_at__isnull=True).update(
            job=None, cut_off_at=timezone.now(), cut_off_reason=reason
        )
        for mixdown in Mixdown.objects.filter(remix__in=cut):
            mixdown.delete()  # one by one: the post_delete signal removes the files
        return count


class Remix(models.Model):
    """A saved mix of one separation's stems: per-stem gain, mute, solo and pan.

    ``track`` is set for remixes made from your own track (they go when the track
    goes); a fork of someone's shared remix has no track -- it points at the same
    stems (``job``) and keeps the title it was forked with.

    A fork lives only as long as the remix it came from: when that remix is deleted
    (with its track, or on its own) or its owner revokes the fork, the fork is cut off
    (``cut_off_at``): ``job`` is cleared and the stems are out of its reach (the rule is
    written out in ``library.sharing``).
    """

    class CutOff(models.TextChoices):
        SOURCE_REMOVED = "source_removed", "The original was removed by its owner."
        REVOKED = "revoked", "The owner of the original revoked this copy."

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="remixes")
    track = models.ForeignKey(Track, null=True, blank=True, on_delete=models.CASCADE, related_name="remixes")
    # Empty only once the remix is cut off; a live remix keeps its stems from being deleted.
    job = models.ForeignKey(SeparationJob, null=True, blank=True, on_delete=models.PROTECT, related_name="remixes")
    name = models.CharField(max_length=200)
    stems = models.JSONField(help_text='{"vocals": {"gain_db": 0, "mute": false, "solo": false, "pan": 0}, ...}')
    title = models.CharField(max_length=300, help_text="The song's title, kept for forks.")
    artist = models.CharField(max_length=300, blank=True)
    forked_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    cut_off_at = models.DateTimeField(null=True, blank=True, help_text="When this fork lost its stems.")
    cut_off_reason = models.CharField(max_length=20, choices=CutOff, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RemixQuerySet.as_manager()

    class Meta:
        ordering = ["-updated"]
        indexes = [models.Index(fields=["owner", "-updated"], name="remix_owner_updated")]
        constraints = [
            # Stems or a reason why not, never both and never neither.
            models.CheckConstraint(
                condition=Q(job__isnull=False, cut_off_at__isnull=True, cut_off_reason="")
                | Q(job__isnull=True, cut_off_at__isnull=False) & ~Q(cut_off_reason=""),
                name="remix_has_stems_unless_cut_off",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.title})"

    @property
    def available(self):
        return self.cut_off_at is None

    @property
    def unavailable_reason(self):
        return self.CutOff(self.cut_off_reason).label if self.cut_off_reason else ""

    # Forks of forks are rare and short; a bound keeps a corrupt cycle from looping for ever.
    MAX_FORK_DEPTH = 50

    def song_track(self):
        """The track whose cover and lyrics this remix shows: its own, or for a fork the original's.

        A fork reads the original owner's cover and lyrics (never a copy, and never writable);
        a cut-off fork has none -- the original is out of its reach like the stems.
        """
        if not self.available:
            return None
        remix = self
        for _ in range(self.MAX_FORK_DEPTH):
            if remix is None or remix.track_id is not None:
                break
            remix = remix.forked_from
        return remix.track if remix is not None and remix.track_id is not None else None

    def revoke_fork(self):
        """The source's owner takes this fork's (and its own forks') stems away."""
        Remix.objects.filter(pk=self.pk).cut_off(self.CutOff.REVOKED)
        self.refresh_from_db()


class ShareLinkQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class ShareLink(models.Model):
    """An unguessable, revocable link to one remix: a read-only player and exactly that remix's audio."""

    token = models.CharField(max_length=64, primary_key=True, default=default_token, editable=False)
    remix = models.ForeignKey(Remix, on_delete=models.CASCADE, related_name="share_links")
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"Share of {self.remix} ({'revoked' if self.revoked_at else 'live'})"


class RemovedShareLink(models.Model):
    """What is left of a share link whose remix is gone (deleted with its track, or with its owner's account).

    Only a digest of the token: enough for the link to answer "removed" (410) instead of an
    unexplained 404, and nothing of the remix, its owner or the token itself.
    """

    token_digest = models.CharField(max_length=64, primary_key=True)
    removed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "removed share link"

    def __str__(self):
        return f"Removed share link {self.token_digest[:12]}…"

    @staticmethod
    def digest(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def was_removed(cls, token):
        return cls.objects.filter(token_digest=cls.digest(token)).exists()


class Mixdown(BackgroundJob):
    """A remix rendered to MP3 and FLAC on the server, for downloads (a background job: separation.jobs)."""

    TASK = "library.tasks.render_mixdown"
    ACTIVITY = "rendering this mixdown"
    SCRATCH = "mixdown"
    expected_errors = (EngineError, OSError, RuntimeError)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    remix = models.ForeignKey(Remix, on_delete=models.CASCADE, related_name="mixdowns")
    # The mixer settings this render used: a newer edit of the remix makes it stale.
    stems = models.JSONField()
    mp3 = models.FileField(max_length=300, blank=True)
    flac = models.FileField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"Mixdown of {self.remix} ({self.status})"

    @property
    def storage_base(self):
        return f"mixdowns/{self.remix_id}/{self.pk.hex}"

    def task_options(self):
        return {"task_name": f"mixdown {self.pk.hex[:8]}"}

    def failure_message(self, exc):
        if isinstance(exc, self.expected_errors):
            return f"Rendering failed: {exc}"
        return super().failure_message(exc)

    def partial_output_names(self):
        return [f"{self.storage_base}.flac", f"{self.storage_base}.mp3"]
