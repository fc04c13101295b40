"""What Python on Windows raises for a Windows code: the builtin OSError subclass.

CPython on Windows turns a Winsock or Win32 failure into ``OSError(None, text, None,
code)`` (``PyErr_SetExcFromWindowsErr``, ``ctypes.WinError``): the constructor maps the
code to an errno (``winerror_to_errno`` in ``PC/errmap.h``: Winsock codes 10000-11999
are errno values, except the six that mirror C's, 10004/10009/10013/10014/10022/10024,
which become 4/9/13/14/22/24) and the errno to a subclass (``PermissionError`` for
EACCES, ``ConnectionRefusedError`` for WSAECONNREFUSED, ...).  The text is
``FormatMessage``'s without its trailing dot.

On Windows the patch makes exactly that object.  Elsewhere it makes an instance of a
subclass of the same builtin class (named like it, so tracebacks read
``PermissionError: [WinError 10013] An attempt was made ...``) whose ``errno`` is the
running platform's nearest POSIX errno and whose ``winerror`` is the Windows code.
"""

from __future__ import annotations

import errno as _errno
import sys
from typing import Final

from .._errors import PortPoolError, WinError

__all__ = ["format_error", "os_error", "os_error_from"]

# Codes real traffic can give that the model never does (Windows Sockets Error Codes).
_EXTRA: Final[dict[int, tuple[str, str]]] = {
    10035: ("EWOULDBLOCK", "A non-blocking socket operation could not be completed immediately."),
    10053: ("ECONNABORTED",
            "An established connection was aborted by the software in your host machine."),
    10054: ("ECONNRESET", "An existing connection was forcibly closed by the remote host."),
    10058: ("ESHUTDOWN", "A request to send or receive data was disallowed because the socket"
            " had already been shut down in that direction with a previous shutdown call."),
    10060: ("ETIMEDOUT", "A connection attempt failed because the connected party did not properly"
            " respond after a period of time, or established connection failed because connected"
            " host has failed to respond."),
    10061: ("ECONNREFUSED",
            "No connection could be made because the target machine actively refused it."),
}
#: The kernel's errno for carried traffic -> the Windows code Python on Windows reports.
ERRNO_TO_WINERROR: Final[dict[int, int]] = {
    _errno.EWOULDBLOCK: 10035, _errno.EINPROGRESS: 10035, _errno.ECONNABORTED: 10053,
    _errno.ECONNRESET: 10054, _errno.EPIPE: 10054, _errno.ESHUTDOWN: 10058,
    _errno.ETIMEDOUT: 10060, _errno.ECONNREFUSED: 10061, _errno.ENOTCONN: 10057,
    _errno.EISCONN: 10056,
}
_MIRRORED: Final = frozenset({10004, 10009, 10013, 10014, 10022, 10024})
#: Win32 codes -> errno names, from the C runtime's table that CPython's
#: ``winerror_to_errno`` reproduces (``PC/errmap.h``); any other code is EINVAL.
_WIN32_ERRNO: Final[dict[int, str]] = {
    2: "ENOENT", 3: "ENOENT", 4: "EMFILE", 5: "EACCES", 6: "EBADF", 8: "ENOMEM",
    32: "EACCES", 33: "EACCES", 80: "EEXIST", 87: "EINVAL", 109: "EPIPE", 183: "EEXIST",
}
_SUBCLASSES: dict[type[OSError], type[OSError]] = {}


def format_error(code: int) -> str:
    """``ctypes.FormatError(code)``: the en-US system text, trailing dots and blanks removed."""
    try:
        text = WinError(code).message
    except ValueError:
        text = _EXTRA.get(code, ("", "<no description>"))[1]
    return text.rstrip(" .\r\n")


def _posix_errno(code: int) -> int:
    """The running platform's errno for what CPython on Windows would pick."""
    if code in _MIRRORED:
        return code - 10000
    if code in _EXTRA:
        return int(getattr(_errno, _EXTRA[code][0], _errno.EINVAL))
    if 10000 <= code < 12000:  # Winsock: the errno of the same name (WSAEADDRINUSE: EADDRINUSE)
        return int(PortPoolError(code).errno or _errno.EINVAL)
    return int(getattr(_errno, _WIN32_ERRNO.get(code, "EINVAL")))


def _windows_flavoured(base: type[OSError]) -> type[OSError]:
    """A subclass of ``base`` that prints as Python on Windows prints its exceptions."""
    found = _SUBCLASSES.get(base)
    if found is None:
        def __str__(self: OSError) -> str:  # noqa: N807 - the dunder this class overrides
            return f"[WinError {getattr(self, 'winerror', None)}] {self.strerror}"

        found = type(base.__name__, (base,), {"__str__": __str__, "__module__": "builtins",
                                              "__doc__": base.__doc__})
        _SUBCLASSES[base] = found
    return found


def os_error(code: int, detail: str = "") -> OSError:
    """The exception Python on Windows raises for ``code``.

    Args:
        code: the Windows code (WSAEACCES 10013, WSAEADDRINUSE 10048, ...).
        detail: portpool's explanation (the port, the rule), attached as a note.
    """
    text = format_error(code)
    if sys.platform == "win32":
        exc = OSError(None, text, None, code)
    else:
        plain = OSError(_posix_errno(code), text)  # the constructor picks the subclass
        exc = _windows_flavoured(type(plain))(_posix_errno(code), text)
        exc.winerror = code  # type: ignore[attr-defined,unused-ignore]  # Windows-only member elsewhere
    if detail:
        exc.add_note(f"portpool: {detail}")
    return exc


def os_error_from(error: PortPoolError) -> OSError:
    """:func:`os_error` for a refusal of the model (its detail and rule become a note)."""
    return os_error(error.winerror, error.detail)
