"""Backends by name, imported only when asked for (so ``import portpool`` never
touches ``ctypes.windll``)."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Final

from ._errors import WinError, winerror
from ._interface import PortPool

__all__ = ["BACKENDS", "load_backend", "open_pool"]

#: name -> "module:attribute" of a class with a ``open(**options)`` classmethod.
BACKENDS: Final[dict[str, str]] = {
    "emulated": "portpool.backends.emulated:EmulatedPool",
    "windows": "portpool.backends.windows:WindowsPool",
}


def load_backend(name: str) -> Any:
    """The backend class registered as ``name``.

    Raises:
        ValueError: ``name`` is not a registered backend.
    """
    target = BACKENDS.get(name)
    if target is None:
        valid = ", ".join(repr(n) for n in ("auto", *BACKENDS))
        raise ValueError(f"unknown portpool backend {name!r}; valid backends: {valid}")
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise winerror(WinError.ERROR_NOT_SUPPORTED,
                       f"backend {name!r} cannot be imported: {exc}") from None
    return getattr(module, attribute)


def open_pool(backend: str = "emulated", **options: Any) -> PortPool:
    """Open a :class:`PortPool`.

    Args:
        backend: ``"emulated"`` (a process on a fresh :class:`EmulatedHost`),
            ``"windows"`` (the real DLLs through ctypes), or ``"auto"`` (``"windows"``
            on Windows, ``"emulated"`` elsewhere).
        **options: passed to the backend: for ``"emulated"``, ``admin`` and the
            :class:`EmulatedHost` options (``seed``, ``dynamic_ports``, ``store``);
            for ``"windows"``, ``dlls``.

    Raises:
        ValueError: an unknown backend name (the message lists the valid ones).
        PortPoolError: the backend cannot start here (ERROR_NOT_SUPPORTED).
    """
    if backend == "auto":
        backend = "windows" if sys.platform == "win32" else "emulated"
    pool: PortPool = load_backend(backend).open(**options)
    return pool
