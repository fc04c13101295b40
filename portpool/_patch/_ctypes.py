"""The ctypes half of :func:`portpool.patch`: ``WinDLL``, ``windll``, ``WINFUNCTYPE``,
``get_last_error``/``set_last_error``, ``WinError`` and ``FormatError`` on every OS.

Loading ``ws2_32`` or ``iphlpapi`` (any case, with or without ``.dll``, with or without a
directory) gives a library object over the emulated DLLs of the patch's one process.
Its functions are real ctypes function pointers: ``argtypes``, ``restype`` and
``errcheck`` work as on Windows.  Each points at a small C thunk over the emulated
export which, for a library loaded with ``use_last_error=True`` (or a ``WINFUNCTYPE``
prototype made with it), copies the thread's last error into ctypes' private copy
*inside* the call, so an ``errcheck`` that calls ``ctypes.get_last_error()`` sees it, as
on Windows.  Other DLL names raise :class:`FileNotFoundError` (Windows: the real DLLs).
"""

from __future__ import annotations

import ctypes
import ctypes.wintypes
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .._winsock import _abi
from ._oserror import format_error, os_error

if TYPE_CHECKING:
    from .._winsock._dlls import EmulatedDlls

__all__ = ["CtypesPatch", "EmulatedLibrary", "dll_key"]

EMULATED: Final = ("ws2_32", "iphlpapi")
_ON_WINDOWS: Final = sys.platform == "win32"
_CFuncPtr: Any = getattr(ctypes, "_CFuncPtr")  # noqa: B009 - private in typeshed, public in ctypes
_FLAGS: Final[int] = int(getattr(ctypes, "_FUNCFLAG_STDCALL" if _ON_WINDOWS else "_FUNCFLAG_CDECL"))
_ATTRIBUTES: Final = ("WinDLL", "windll", "WINFUNCTYPE", "get_last_error", "set_last_error",
                      "WinError", "FormatError")
_MISSING: Final = object()


def dll_key(name: object) -> str | None:
    """``"ws2_32"`` or ``"iphlpapi"`` for a name Windows would load as that DLL, else None."""
    if not isinstance(name, str):
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    base = base.removesuffix(".dll")
    return base if base in EMULATED else None


class _LastError(threading.local):
    value = 0


class CtypesPatch:
    """Installs and removes the ctypes replacements for one patched process."""

    def __init__(self, dlls: EmulatedDlls) -> None:
        self.dlls = dlls
        self._private = _LastError()  # ctypes' private copy, where the platform has none
        self._thunks: dict[tuple[str, bool], Any] = {}
        self._saved: dict[str, object] = {}
        self._saved_wintypes: dict[str, object] = {}
        self._real_windll: Any = getattr(ctypes, "windll", None)
        self._real_windll_type: Any = getattr(ctypes, "WinDLL", None)
        self._real_winfunctype: Any = getattr(ctypes, "WINFUNCTYPE", None)
        self._real_set_last_error: Any = getattr(ctypes, "set_last_error", None)
        # Windows: the thread's real GetLastError value, which ctypes copies after a call of
        # a function made with use_last_error (a WINFUNCTYPE prototype with the flag).
        self._set_system: Any = None
        if _ON_WINDOWS and self._real_windll_type is not None:
            self._set_system = self._real_windll_type("kernel32").SetLastError

    # --- the thread's last error --------------------------------------------------------

    def system_last_error(self) -> int:
        """GetLastError() of the calling thread in the emulated process."""
        return int(self.dlls.ws2_32._get_last_error())  # the emulator's own per-thread value

    def get_last_error(self) -> int:
        """``ctypes.get_last_error()``: the private copy."""
        return int(self._private.value)

    def set_last_error(self, value: int) -> int:
        """``ctypes.set_last_error()``: sets the private copy and returns the old one."""
        old, self._private.value = self._private.value, int(value)
        return int(old)

    def _store(self, code: int) -> None:
        if _ON_WINDOWS and self._real_set_last_error is not None:
            self._real_set_last_error(code)
        else:
            self._private.value = code

    # --- function pointers --------------------------------------------------------------

    def address(self, key: str, name: str, record: bool) -> int:
        """The address of a C thunk over ``key``'s export ``name``.

        Raises:
            AttributeError: the emulated DLL does not export ``name``.
        """
        proto = _abi.PROTOTYPES.get(name)
        target = getattr(self.dlls.ws2_32 if key == "ws2_32" else self.dlls.iphlpapi, name, None)
        if proto is None or proto.dll != key or proto.spi_type or target is None:
            exported = sorted(n for n, p in _abi.PROTOTYPES.items() if p.dll == key and not p.spi_type)
            raise AttributeError(f"function {name!r} not found: portpool's emulated {key} exports"
                                 f" {', '.join(exported)}")
        thunk = self._thunks.get((name, record))
        if thunk is None:
            thunk = proto.functype(self._forward(target, record))
            self._thunks[(name, record)] = thunk
        return int(ctypes.cast(thunk, ctypes.c_void_p).value or 0)

    def _forward(self, target: Any, record: bool) -> Callable[..., Any]:
        def forward(*args: Any) -> Any:
            result = target(*args)
            code = self.system_last_error()
            if self._set_system is not None:
                self._set_system(code)
            if record:
                self._store(code)
            return result

        return forward

    # --- the replacements ---------------------------------------------------------------

    def win_dll(self, name: str, mode: int = 0, handle: object = None, use_errno: bool = False,
                use_last_error: bool = False, winmode: object = None) -> Any:
        """``ctypes.WinDLL``: the emulated library for ws2_32/iphlpapi.

        Raises:
            FileNotFoundError: any other DLL (on Windows: loaded for real).
        """
        key = dll_key(name)
        if key is not None:
            return EmulatedLibrary(self, key, name, use_last_error=use_last_error)
        if _ON_WINDOWS and self._real_windll_type is not None:
            return self._real_windll_type(name, mode, handle, use_errno=use_errno,
                                          use_last_error=use_last_error, winmode=winmode)
        raise FileNotFoundError(
            f"Could not find module {name!r}: portpool.patch() emulates only ws2_32 and iphlpapi"
            f" (the Windows port pool) on {sys.platform}")

    def win_error(self, code: int | None = None, descr: str | None = None) -> OSError:
        """``ctypes.WinError``: the OSError Python on Windows makes for ``code``, with
        ``FormatError(code).strip()`` (the final dot kept) as its text unless ``descr``."""
        if code is None:
            code = self.system_last_error()
        if descr is None:
            descr = self.format_error(int(code)).strip()
        return os_error(int(code), text=descr)

    def format_error(self, code: int = 0) -> str:
        """``ctypes.FormatError``: the system text of ``code``; 0 (the default) stands for
        the thread's ``GetLastError()``, as in ctypes."""
        return format_error(int(code) or self.system_last_error())

    def winfunctype(self, restype: Any, *argtypes: Any, use_errno: bool = False,
                    use_last_error: bool = False) -> Any:
        """``ctypes.WINFUNCTYPE``: a prototype whose ``(name, library)`` form also takes
        an emulated library."""
        maker = self._real_winfunctype if _ON_WINDOWS and self._real_winfunctype else ctypes.CFUNCTYPE
        # The flags stay as given, for real DLLs; the emulated functions' thunks store the
        # last error themselves (on Windows also as the thread's GetLastError, which the
        # use_last_error flag then copies).
        base = maker(restype, *argtypes, use_errno=use_errno, use_last_error=use_last_error)
        def new(cls: Any, *args: Any) -> Any:
            if args and isinstance(args[0], tuple) and len(args[0]) == 2 \
                    and isinstance(args[0][1], EmulatedLibrary):
                name, library = args[0]
                if len(args) > 1:
                    raise TypeError("portpool.patch(): paramflags are not supported for the"
                                    " emulated DLLs; set argtypes instead")
                if not isinstance(name, str):
                    raise TypeError("portpool.patch(): the emulated DLLs export by name only")
                return base.__new__(cls, library._address(name, record=use_last_error))
            return base.__new__(cls, *args)

        namespace = {"__new__": new, "__module__": "ctypes", "_flags_": base._flags_,
                     "_argtypes_": base._argtypes_, "_restype_": base._restype_}
        return type("WinFunctionType", (base,), namespace)

    def install(self) -> None:
        """Put the replacements into :mod:`ctypes` (and Windows-sized ``ctypes.wintypes``)."""
        loader = EmulatedLoader(self)
        replacements: dict[str, object] = {
            "WinDLL": self.win_dll, "windll": loader, "WINFUNCTYPE": self.winfunctype,
            "WinError": self.win_error, "FormatError": self.format_error,
        }
        if not hasattr(ctypes, "get_last_error"):
            replacements["get_last_error"] = self.get_last_error
            replacements["set_last_error"] = self.set_last_error
        for name in _ATTRIBUTES:
            self._saved[name] = getattr(ctypes, name, _MISSING)
        for name, value in replacements.items():
            setattr(ctypes, name, value)
        if ctypes.sizeof(ctypes.c_long) != 4:  # LP64: wintypes' LONG-based names are 8 bytes
            for name in dir(ctypes.wintypes):
                value = getattr(ctypes.wintypes, name)
                new = _windows_sized(value)
                if new is not None:
                    self._saved_wintypes[name] = value
                    setattr(ctypes.wintypes, name, new)

    def uninstall(self) -> None:
        """Put back exactly what :meth:`install` replaced."""
        for name, value in self._saved.items():
            if value is _MISSING:
                if hasattr(ctypes, name):
                    delattr(ctypes, name)
            else:
                setattr(ctypes, name, value)
        for name, value in self._saved_wintypes.items():
            setattr(ctypes.wintypes, name, value)
        self._saved.clear()
        self._saved_wintypes.clear()


def _windows_sized(value: object) -> object | None:
    """The 4-byte type for a wintypes name built on C long, or None."""
    if value is ctypes.c_long:
        return ctypes.c_int32
    if value is ctypes.c_ulong:
        return ctypes.c_uint32
    if value is ctypes.POINTER(ctypes.c_long):
        return ctypes.POINTER(ctypes.c_int32)
    if value is ctypes.POINTER(ctypes.c_ulong):
        return ctypes.POINTER(ctypes.c_uint32)
    return None


class EmulatedLibrary:
    """What ``ctypes.WinDLL("ws2_32")`` returns under the patch.

    ``library.name`` (cached, as ctypes caches it) and ``library["name"]`` (a new object)
    are function pointers with ctypes' defaults (``restype`` c_int, no ``argtypes``).
    """

    def __init__(self, patch: CtypesPatch, key: str, name: str, *, use_last_error: bool) -> None:
        self._patch, self._key, self._name = patch, key, name
        self._use_last_error = use_last_error
        self._FuncPtr: Any = type("_FuncPtr", (_CFuncPtr,), {"_flags_": _FLAGS,
                                                              "_restype_": ctypes.c_int})

    def __repr__(self) -> str:
        return f"<portpool emulated {self._key} '{self._name}' of process {self._patch.dlls.pid}>"

    def _address(self, name: str, *, record: bool) -> int:
        return self._patch.address(self._key, name, record)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        function = self[name]
        setattr(self, name, function)
        return function

    def __getitem__(self, name: str) -> Any:
        function = self._FuncPtr(self._address(name, record=self._use_last_error))
        function.__name__ = name
        return function


class EmulatedLoader:
    """What ``ctypes.windll`` is under the patch (a ``LibraryLoader`` of WinDLL)."""

    def __init__(self, patch: CtypesPatch) -> None:
        self._patch = patch

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        library = self.LoadLibrary(name)
        setattr(self, name, library)
        return library

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def LoadLibrary(self, name: str) -> Any:
        """``windll.LoadLibrary(name)``."""
        if dll_key(name) is None and _ON_WINDOWS and self._patch._real_windll is not None:
            return self._patch._real_windll.LoadLibrary(name)
        return self._patch.win_dll(name)
