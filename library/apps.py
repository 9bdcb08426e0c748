from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = "Song library"

    def ready(self):
        from . import signals  # noqa: F401
