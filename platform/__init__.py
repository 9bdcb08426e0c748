"""The Stemroom Django project.

This package's name hides the standard library's ``platform`` module for every
process started from the repository root (``manage.py``, ``python -m pytest``,
``python -m gunicorn``). Django, uuid, TensorFlow and others import
``platform`` and expect the stdlib functions, so we load the real module from
the stdlib directory and re-export all of its names here. The package keeps
its own ``__path__`` so ``platform.settings`` still resolves.
"""

import importlib.util as _importlib_util
import os as _os
import sys as _sys
import sysconfig as _sysconfig

_STDLIB_PLATFORM = _os.path.join(_sysconfig.get_paths()["stdlib"], "platform.py")
_spec = _importlib_util.spec_from_file_location("_stdlib_platform", _STDLIB_PLATFORM)
_stdlib = _importlib_util.module_from_spec(_spec)
# Registered so that pickled objects and lazy imports inside it resolve.
_sys.modules["_stdlib_platform"] = _stdlib
_spec.loader.exec_module(_stdlib)

_OWN = {
    "__name__",
    "__file__",
    "__path__",
    "__package__",
    "__spec__",
    "__loader__",
    "__doc__",
    "__cached__",
    "__builtins__",
}
globals().update({name: value for name, value in vars(_stdlib).items() if name not in _OWN})
