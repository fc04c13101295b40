"""The ctypes half of :func:`portpool.patch`: what ``ctypes`` has on Windows (``WinDLL``,
``OleDLL``, ``windll``, ``oledll``, ``WINFUNCTYPE``, ``HRESULT``, ``GetLastError``,
``get_last_error``/``set_last_error``, ``WinError``, ``FormatError``) on every OS.

Loading ``ws2_32``, ``iphlpapi`` or ``kernel32`` (any case, with or without ``.dll``,
with or without a directory) gives a library object over the emulated DLLs of the
patch's one process.  Every name the real DLL exports resolves (the lists in
:mod:`._exports`), so libraries that bind many exports at import time import.  The
functions portpool emulates are real ctypes function pointers: ``argtypes``,
``restype`` and ``errcheck`` work as on Windows.  Each points at a small C thunk over the
emulated export which, for a library loaded with ``use_last_error=True`` (or a
``WINFUNCTYPE`` prototype made with it), copies the thread's last error into ctypes'
private copy *inside* the call, so an ``errcheck`` that calls ``ctypes.get_last_error()``
sees it, as on Windows.  A SOCKET argument that is a patched socket's ``fileno()`` (a
kernel descriptor) reaches its emulated socket; ``socket`` returns a kernel descriptor
too (see :mod:`._socket`).  An export portpool does not emulate fails when *called*:
the thread's last error becomes ERROR_CALL_NOT_IMPLEMENTED (120) and the call raises
OSError 120 naming the function.  Other DLL names raise :class:`FileNotFoundError`
(Windows: the real DLLs).
"""

from __future__ import annotations

import ctypes
import ctypes.wintypes
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .._winsock import _abi
from ._exports import EXPORTS
from ._oserror import format_error, os_error

if TYPE_CHECKING:
    from .._winsock._dlls import EmulatedDlls
    from ._socket import SocketPatch

__all__ = ["HRESULT", "CtypesPatch", "EmulatedLibrary", "dll_key"]

EMULATED: Final = ("ws2_32", "iphlpapi", "kernel32")
_NOT_IMPLEMENTED: Final = 120  # ERROR_CALL_NOT_IMPLEMENTED
#: The ws2_32 exports whose first parameter is a SOCKET: the patch maps a descriptor to
#: the emulated handle before the call.
_SOCKET_FIRST: Final = frozenset(name for name, p in _abi.PROTOTYPES.items()
                                 if p.params and p.params[0][2] == "SOCKET")
_GETLASTERROR: Final = ctypes.CFUNCTYPE(ctypes.c_uint32)
_SETLASTERROR: Final = ctypes.CFUNCTYPE(None, ctypes.c_uint32)
_STUB: Final = ctypes.CFUNCTYPE(ctypes.c_ssize_t)
_ON_WINDOWS: Final = sys.platform == "win32"
_CFuncPtr: Any = getattr(ctypes, "_CFuncPtr")  # noqa: B009 - private in typeshed, public in ctypes
_FLAGS: Final[int] = int(getattr(ctypes, "_FUNCFLAG_STDCALL" if _ON_WINDOWS else "_FUNCFLAG_CDECL"))
_CDECL: Final[int] = int(getattr(ctypes, "_FUNCFLAG_CDECL"))  # noqa: B009 - private in typeshed
_ATTRIBUTES: Final = ("CDLL", "cdll", "WinDLL", "windll", "OleDLL", "oledll", "WINFUNCTYPE", "HRESULT",
                      "GetLastError", "get_last_error", "set_last_error", "WinError", "FormatError")
_MISSING: Final = object()
_RESIZED: tuple[tuple[str, object, object], ...] | None = None
_installed: CtypesPatch | None = None  # the active patch, for CDLL


def dll_key(name: object) -> str | None:
    """``"ws2_32"`` or ``"iphlpapi"`` for a name Windows would load as that DLL, else None."""
    if not isinstance(name, str):
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    base = base.removesuffix(".dll")
    return base if base in EMULATED else None


class _LastError(threading.local):
    value = 0


class HRESULT(ctypes._SimpleCData):  # type: ignore[type-arg,misc,name-defined,unused-ignore]  # private base, as ctypes defines it
    """``ctypes.HRESULT``: a 32-bit signed result; a failure (negative) as a restype
    raises the OSError ``WinError`` makes for it, as on Windows."""

    _type_ = "i"

    @staticmethod
    def _check_retval_(value: int) -> int:
        if value < 0:
            raise ctypes.WinError(value)  # type: ignore[attr-defined,unused-ignore]  # patched in
        return value


def _wintypes_resized() -> tuple[tuple[str, object, object], ...]:
    """(name, LP64 value, Windows-sized value) for ``ctypes.wintypes``' LONG-based names."""
    if ctypes.sizeof(ctypes.c_long) == 4:
        return ()
    rows = []
    for name in dir(ctypes.wintypes):
        value = getattr(ctypes.wintypes, name)
        new = _windows_sized(value)
        if new is not None:
            rows.append((name, value, new))
    return tuple(rows)


class CtypesPatch:
    """Installs and removes the ctypes replacements for one patched process."""

    def __init__(self, dlls: Callable[[], EmulatedDlls], sockets: SocketPatch) -> None:
        self._dlls = dlls  # made on first use: most patched programs never load a DLL
        self.sockets = sockets
        self._private = _LastError()  # ctypes' private copy, where the platform has none
        self._thunks: dict[tuple[str, bool], Any] = {}
        self._stub: Any = None
        self._real_kernel32: Any = None
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

    @property
    def dlls(self) -> EmulatedDlls:
        """The process's emulated DLLs."""
        return self._dlls()

    def system_last_error(self) -> int:
        """GetLastError() of the calling thread in the emulated process."""
        return int(self.dlls.ws2_32._get_last_error())  # the emulator's own per-thread value

    def set_system_last_error(self, code: int) -> None:
        """SetLastError() in the emulated process (Winsock's value is the thread's)."""
        self.dlls.ws2_32._last.code = int(code)  # the emulator's own per-thread value

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
            AttributeError: portpool does not emulate ``name`` (see :meth:`emulates`).
        """
        thunk = self._thunks.get((f"{key}!{name}", record))
        if thunk is None:
            if key == "kernel32":
                thunk = self._kernel32(name, record)
            else:
                proto = _abi.PROTOTYPES.get(name)
                target = getattr(self.dlls.ws2_32 if key == "ws2_32" else self.dlls.iphlpapi, name,
                                 None)
                if proto is None or proto.dll != key or proto.spi_type or target is None:
                    raise AttributeError(f"function {name!r} not found")
                thunk = proto.functype(self._forward(target, record, name))
            self._thunks[(f"{key}!{name}", record)] = thunk
        return int(ctypes.cast(thunk, ctypes.c_void_p).value or 0)

    @staticmethod
    def emulates(key: str, name: str) -> bool:
        """Whether portpool emulates export ``name`` of DLL ``key``."""
        if key == "kernel32":
            return name in ("GetLastError", "SetLastError", "GetCurrentProcessId")
        proto = _abi.PROTOTYPES.get(name)
        return proto is not None and proto.dll == key and not proto.spi_type

    def _kernel32(self, name: str, record: bool) -> Any:
        if name == "GetLastError":
            return _GETLASTERROR(self.system_last_error)
        if name == "GetCurrentProcessId":
            return _GETLASTERROR(lambda: self.dlls.pid)

        def set_last_error(code: int) -> None:
            self.set_system_last_error(code)
            if record:
                self._store(code)

        if name == "SetLastError":
            return _SETLASTERROR(set_last_error)
        raise AttributeError(f"function {name!r} not found")

    def real_kernel32(self) -> Any:
        """Windows: the real kernel32, for the exports the patch does not emulate."""
        if self._real_kernel32 is None:
            self._real_kernel32 = self._real_windll_type("kernel32", use_last_error=True)
        return self._real_kernel32

    def stub_address(self) -> int:
        """A C function that sets the last error to ERROR_CALL_NOT_IMPLEMENTED and
        returns 0: what a C caller reaches through an export portpool does not emulate."""
        if self._stub is None:
            def stub() -> int:
                self.set_system_last_error(_NOT_IMPLEMENTED)
                return 0

            self._stub = _STUB(stub)
        return int(ctypes.cast(self._stub, ctypes.c_void_p).value or 0)

    def _forward(self, target: Any, record: bool, name: str) -> Callable[..., Any]:
        handle_of, sockets = self.sockets.handle_of, self.sockets
        translate = name in _SOCKET_FIRST

        def forward(*args: Any) -> Any:
            given: int = args[0] if args else 0
            if translate:
                args = (handle_of(given), *args[1:])
            result = target(*args)
            if name == "socket" and result != _abi.INVALID_SOCKET:
                result = self._twin(result, args)
            elif name == "closesocket" and result == 0:
                sockets.drop_twin(int(given))
            code = self.system_last_error()
            if self._set_system is not None:
                self._set_system(code)
            if record:
                self._store(code)
            return result

        return forward

    def _twin(self, handle: int, args: tuple[Any, ...]) -> int:
        """The kernel descriptor for a SOCKET the emulated ``socket`` made (its twin)."""
        try:
            return self.sockets.add_twin(handle, int(args[0]), int(args[1]))
        except OSError:
            close = getattr(self.dlls.ws2_32, "closesocket")  # noqa: B009 - a C export
            close(handle)
            self.set_system_last_error(10024)  # WSAEMFILE: no descriptor for it
            return int(_abi.INVALID_SOCKET)

    # --- the replacements ---------------------------------------------------------------

    def win_dll(self, name: str, mode: int = 0, handle: object = None, use_errno: bool = False,
                use_last_error: bool = False, winmode: object = None) -> Any:
        """``ctypes.WinDLL``: the emulated library for ws2_32, iphlpapi and kernel32.

        Raises:
            FileNotFoundError: any other DLL (on Windows: loaded for real).
        """
        return self._load(name, mode, handle, use_errno, use_last_error, winmode, ole=False)

    def ole_dll(self, name: str, mode: int = 0, handle: object = None, use_errno: bool = False,
                use_last_error: bool = False, winmode: object = None) -> Any:
        """``ctypes.OleDLL``: as :meth:`win_dll`, its functions returning HRESULT."""
        return self._load(name, mode, handle, use_errno, use_last_error, winmode, ole=True)

    def c_dll(self, name: str) -> Any:
        """``ctypes.cdll.LoadLibrary``: the emulated library (C calling convention) for
        ws2_32, iphlpapi and kernel32; any other library is loaded for real."""
        key = dll_key(name)
        if key is not None:
            return EmulatedLibrary(self, key, name, use_last_error=False, flags=_CDECL)
        return _RealCDLL(name)

    def _load(self, name: str, mode: int, handle: object, use_errno: bool, use_last_error: bool,
              winmode: object, *, ole: bool) -> Any:
        key = dll_key(name)
        if key is not None:
            return EmulatedLibrary(self, key, name, use_last_error=use_last_error,
                                   restype=HRESULT if ole else ctypes.c_int)
        real = self._saved.get("OleDLL" if ole else "WinDLL", _MISSING)
        if _ON_WINDOWS and real is not _MISSING:
            return real(name, mode, handle, use_errno=use_errno,  # type: ignore[operator]
                        use_last_error=use_last_error, winmode=winmode)
        raise FileNotFoundError(
            f"Could not find module {name!r}: portpool.patch() emulates only ws2_32, iphlpapi"
            f" and kernel32 (the Windows port pool) on {sys.platform}; load other DLLs only"
            " when running on Windows (sys.platform == 'win32'), or run this code on Windows")

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
        global _RESIZED, _installed  # noqa: PLW0603 - computed once; the patch is process-global
        for name in _ATTRIBUTES:
            self._saved[name] = getattr(ctypes, name, _MISSING)
        windll = EmulatedLoader(self, self.win_dll, self._saved["windll"])
        _installed = self
        replacements: dict[str, object] = {
            "CDLL": _CDLL, "cdll": EmulatedLoader(self, self.c_dll, self._saved["cdll"]),
            "WinDLL": self.win_dll, "windll": windll, "OleDLL": self.ole_dll,
            "oledll": EmulatedLoader(self, self.ole_dll, self._saved["oledll"]),
            "WINFUNCTYPE": self.winfunctype, "HRESULT": HRESULT,
            "WinError": self.win_error, "FormatError": self.format_error,
            "GetLastError": _LazyExport(windll, "kernel32", "GetLastError"),
        }
        if not hasattr(ctypes, "get_last_error"):
            replacements["get_last_error"] = self.get_last_error
            replacements["set_last_error"] = self.set_last_error
        for name, value in replacements.items():
            setattr(ctypes, name, value)
        if _RESIZED is None:
            _RESIZED = _wintypes_resized()
        for name, value, new in _RESIZED:  # LP64: wintypes' LONG-based names are 8 bytes
            self._saved_wintypes[name] = value
            setattr(ctypes.wintypes, name, new)

    def uninstall(self) -> None:
        """Put back exactly what :meth:`install` replaced."""
        global _installed  # noqa: PLW0603 - the patch is process-global
        _installed = None
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


_RealCDLL: Final = ctypes.CDLL


class _CDLL(ctypes.CDLL):
    """``ctypes.CDLL`` under the patch: ws2_32, iphlpapi and kernel32 are the emulated
    libraries (Windows code loads some exports this way), every other library is real."""

    def __new__(cls, name: Any, *args: Any, **kwargs: Any) -> Any:
        patch = _installed
        key = dll_key(name)
        if patch is not None and key is not None:
            return EmulatedLibrary(patch, key, name, flags=_CDECL,
                                   use_last_error=bool(kwargs.get("use_last_error", False)))
        return super().__new__(cls)


class _LazyExport:
    """``ctypes.GetLastError`` under the patch: kernel32's export, loaded on first call
    (entering the patch stays cheap)."""

    def __init__(self, loader: EmulatedLoader, dll: str, name: str) -> None:
        self._loader, self._dll, self._name = loader, dll, name

    def __repr__(self) -> str:
        return f"<portpool emulated {self._dll}.{self._name}>"

    def __call__(self, *args: Any) -> Any:
        return getattr(getattr(self._loader, self._dll), self._name)(*args)


class EmulatedLibrary:
    """What ``ctypes.WinDLL("ws2_32")`` returns under the patch.

    ``library.name`` (cached, as ctypes caches it) and ``library["name"]`` (a new object)
    are function pointers with ctypes' defaults (``restype`` c_int, HRESULT for
    ``OleDLL``; no ``argtypes``).  Every name the real DLL exports resolves; one portpool
    does not emulate raises OSError ERROR_CALL_NOT_IMPLEMENTED (120) when called.
    """

    def __init__(self, patch: CtypesPatch, key: str, name: str, *, use_last_error: bool,
                 restype: Any = ctypes.c_int, flags: int = _FLAGS) -> None:
        self._patch, self._key, self._name = patch, key, name
        self._use_last_error = use_last_error
        self._FuncPtr: Any = type("_FuncPtr", (_CFuncPtr,), {"_flags_": flags,
                                                              "_restype_": restype})
        self._Missing: Any = None

    def __repr__(self) -> str:
        return f"<portpool emulated {self._key} '{self._name}' of process {self._patch.dlls.pid}>"

    def _address(self, name: str, *, record: bool) -> int:
        if not CtypesPatch.emulates(self._key, name):
            if name in EXPORTS[self._key]:
                return self._patch.stub_address()
            raise AttributeError(f"function {name!r} not found")
        return self._patch.address(self._key, name, record)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        function = self[name]
        setattr(self, name, function)
        return function

    def __getitem__(self, name: str) -> Any:
        if not isinstance(name, str):
            raise TypeError("portpool.patch(): the emulated DLLs export by name only")
        if _ON_WINDOWS and self._key == "kernel32" and not CtypesPatch.emulates(self._key, name):
            # Windows: the rest of kernel32 is the real one (files, handles, ...).
            return getattr(self._patch.real_kernel32(), name)
        if CtypesPatch.emulates(self._key, name):
            function = self._FuncPtr(self._address(name, record=self._use_last_error))
        elif name in EXPORTS[self._key]:
            function = self._missing_type()(self._patch.stub_address())
        else:
            raise AttributeError(f"function {name!r} not found")
        function.__name__ = name
        return function

    def _missing_type(self) -> Any:
        """A function pointer type whose call raises ERROR_CALL_NOT_IMPLEMENTED (120)."""
        if self._Missing is None:
            patch, key, record = self._patch, self._key, self._use_last_error

            def call(function: Any, *args: Any, **kwargs: Any) -> Any:
                del args, kwargs
                patch.set_system_last_error(_NOT_IMPLEMENTED)
                if record:
                    patch._store(_NOT_IMPLEMENTED)
                raise os_error(_NOT_IMPLEMENTED,
                               f"{key}.{function.__name__} is not emulated by portpool.patch():"
                               " it emulates the port pool's calls (see docs/patch.md); call it"
                               " only on Windows, or stub it in the test")

            self._Missing = type("_FuncPtr", (self._FuncPtr,), {"__call__": call,
                                                                "_flags_": self._FuncPtr._flags_,
                                                                "_restype_": self._FuncPtr._restype_})
        return self._Missing


class EmulatedLoader:
    """What ``ctypes.windll`` (``oledll``) is under the patch (a ``LibraryLoader``)."""

    def __init__(self, patch: CtypesPatch, load: Callable[[str], Any], real: object) -> None:
        self._patch, self._load, self._real = patch, load, real

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
        if dll_key(name) is None and self._real is not _MISSING \
                and (_ON_WINDOWS or self._load == self._patch.c_dll):
            return self._real.LoadLibrary(name)  # type: ignore[attr-defined]
        return self._load(name)
