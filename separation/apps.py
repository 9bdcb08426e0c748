from django.apps import AppConfig


class SeparationConfig(AppConfig):
    name = "separation"
    verbose_name = "Stem separation"

    def ready(self):
        from . import signals  # noqa: F401
