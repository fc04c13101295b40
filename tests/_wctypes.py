"""ctypes' Windows-only names, typed on every platform.

On Windows, ctypes has ``WinDLL``, ``windll``, ``WinError``, ``FormatError``,
``GetLastError``, ``get_last_error``, ``set_last_error``, ``HRESULT`` and ``WINFUNCTYPE``; elsewhere it has them only
inside ``portpool.patch()``, which sets them on the module.  Typeshed declares them for
``sys.platform == "win32"`` only, so ``ctypes.WinDLL(...)`` in a test type-checks on one
platform.  :data:`wctypes` is the ``ctypes`` module itself, typed by
:class:`WindowsCtypes`: each name is looked up on the module when it is used, so inside
the patch a test gets the patch's names, and outside it (off Windows) the
AttributeError a program would get.
"""

from __future__ import annotations

import ctypes
from typing import Any, Protocol, cast

__all__ = ["WindowsCtypes", "wctypes"]


class WindowsCtypes(Protocol):
    """The Windows-only part of the ``ctypes`` module (as typeshed declares it for win32)."""

    def WinDLL(self, name: str, mode: int = ..., handle: int | None = ...,
               use_errno: bool = ..., use_last_error: bool = ...,
               winmode: int | None = ...) -> ctypes.CDLL: ...

    @property
    def windll(self) -> ctypes.LibraryLoader[ctypes.CDLL]: ...

    def WinError(self, code: int | None = ..., descr: str | None = ...) -> OSError: ...

    def FormatError(self, code: int = ...) -> str: ...

    def get_last_error(self) -> int: ...

    def GetLastError(self) -> int: ...

    @property
    def HRESULT(self) -> type[ctypes.c_long]: ...  # a c_long of its own (a signed 32-bit "l")

    def set_last_error(self, value: int) -> int: ...

    def WINFUNCTYPE(self, restype: type[Any] | None, *argtypes: type[Any],
                    use_errno: bool = ..., use_last_error: bool = ...) -> type[ctypes._CFunctionType]: ...


#: The ctypes module, typed with its Windows-only names (see the module docstring).
wctypes = cast(WindowsCtypes, ctypes)
