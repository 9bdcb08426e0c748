"""What each account may use. Defaults come from settings for every user."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Quota:
    storage_bytes: int
    max_upload_bytes: int
    max_track_seconds: int
    max_active_jobs: int  # separations asked for and still queued or running


def quota_for(user) -> Quota:
    return Quota(
        storage_bytes=settings.STEMROOM_QUOTA_STORAGE_BYTES,
        max_upload_bytes=settings.STEMROOM_MAX_UPLOAD_BYTES,
        max_track_seconds=settings.STEMROOM_MAX_TRACK_SECONDS,
        max_active_jobs=settings.STEMROOM_MAX_ACTIVE_JOBS,
    )
