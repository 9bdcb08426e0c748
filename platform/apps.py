from pathlib import Path

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    # "platform" alone would read as the stdlib module in admin and logs.
    name = "platform"
    label = "stemroom_platform"
    verbose_name = "Stemroom"

    def ready(self):
        from django.conf import settings

        from . import signals  # noqa: F401 -- connects the receivers

        # Uploads stream into the temp folder and static files are served from
        # STATIC_ROOT: both must exist before the first request.
        for folder in (settings.FILE_UPLOAD_TEMP_DIR, settings.MEDIA_ROOT, settings.STATIC_ROOT):
            Path(folder).mkdir(parents=True, exist_ok=True)
