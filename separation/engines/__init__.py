"""Separation engines behind one interface; ``get_engine`` gives this process's loaded engine.

Nothing here imports TensorFlow: the Spleeter engine module is imported on first use, inside
the worker that runs the job.
"""

import threading

from django.conf import settings

from separation.engines.base import SAMPLE_RATE, Engine, EngineError, ProgressCallback
from separation.models_install import MODELS, model_dir

__all__ = ["SAMPLE_RATE", "Engine", "EngineError", "ProgressCallback", "get_engine"]

_engines = {}
_lock = threading.Lock()


def get_engine(model="2stems"):
    """The engine for ``model``, loaded once per process (loading costs seconds; separating reuses it).

    A load that fails (say, the model is not installed yet) is not remembered, so the next job
    tries again.
    """
    if model not in MODELS:
        raise EngineError(f"Unknown separation model {model!r}: choose one of {', '.join(MODELS)}.")
    key = (model, str(model_dir(model)), settings.SEPARATION_DEVICE, settings.SEPARATION_THREADS)
    with _lock:
        if key not in _engines:
            from separation.engines.spleeter import SpleeterEngine

            _engines[key] = SpleeterEngine(
                model, model_dir(model), device=settings.SEPARATION_DEVICE, threads=settings.SEPARATION_THREADS
            )
        return _engines[key]
