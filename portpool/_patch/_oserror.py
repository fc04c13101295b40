"""What Python on Windows raises for a Windows code: the builtin OSError subclass.

CPython on Windows turns a Winsock or Win32 failure into ``OSError(None, text, None,
code)`` (``PyErr_SetExcFromWindowsErr``, ``ctypes.WinError``): the constructor maps the
code to an errno (``winerror_to_errno`` in ``PC/errmap.h``: Winsock codes 10000-11999
are errno values, except the six that mirror C's, 10004/10009/10013/10014/10022/10024,
which become 4/9/13/14/22/24) and the errno to a subclass (``PermissionError`` for
EACCES, ``ConnectionRefusedError`` for WSAECONNREFUSED, ...).  The text is
``FormatMessage``'s without its trailing dot (``ctypes.FormatError`` and
``ctypes.WinError`` keep the dot: ctypes strips only trailing blanks).

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

__all__ = ["format_error", "os_error", "os_error_from", "posix_errno"]

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
# Win32 codes the model never gives that Windows programs commonly meet: the en-US
# FormatMessage texts on "System Error Codes (0-499)" (MicrosoftDocs/win32).  The codes the
# model gives are WinError's members, whose texts are WinError.message.
_WIN32_MESSAGES: Final[dict[int, str]] = {
    1: "Incorrect function.",
    2: "The system cannot find the file specified.",
    3: "The system cannot find the path specified.",
    4: "The system cannot open the file.",
    8: "Not enough memory resources are available to process this command.",
    33: "The process cannot access the file because another process has locked a portion"
        " of the file.",
    80: "The file exists.",
    109: "The pipe has been ended.",
    120: "This function is not supported on this system.",
    126: "The specified module could not be found.",
    183: "Cannot create a file when that file already exists.",
    -2147467259: "Unspecified error",  # E_FAIL (0x80004005), an HRESULT: its text has no dot
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
    """``ctypes.FormatError(code)``: the en-US system text (``FormatMessageW``), trailing
    blanks removed as ctypes removes them (the final dot stays), ``"<no description>"``
    for a code without a text here (as ctypes says when FormatMessage has none).

    Args:
        code: the Windows code (Win32 or Winsock).

    Returns:
        The text, e.g. ``"The system cannot find the file specified."`` for 2.
    """
    try:
        text = WinError(code).message
    except ValueError:
        text = _WIN32_MESSAGES.get(code) or _EXTRA.get(code, ("", "<no description>"))[1]
    return text.rstrip()


def _exception_text(code: int) -> str:
    """``PyErr_SetExcFromWindowsErr``'s text: FormatMessage's without trailing dots and
    blanks, ``"Windows Error 0x..."`` where FormatMessage has none."""
    text = format_error(code)
    if text == "<no description>":
        return f"Windows Error 0x{code & 0xFFFFFFFF:x}"
    return text.rstrip(" .\t\r\n")


def posix_errno(code: int) -> int:
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


def os_error(code: int, detail: str = "", *, text: str | None = None) -> OSError:
    """The exception Python on Windows raises for ``code``.

    Args:
        code: the Windows code (WSAEACCES 10013, WSAEADDRINUSE 10048, ...).
        detail: portpool's explanation (the port, the rule), attached as a note.
        text: the ``strerror`` (``ctypes.WinError``'s ``descr``); by default the system
            text without its trailing dot, as ``PyErr_SetExcFromWindowsErr`` gives it.

    Returns:
        The exception (not raised).
    """
    if text is None:
        text = _exception_text(code)
    if sys.platform == "win32":
        exc = OSError(None, text, None, code)
    else:
        plain = OSError(posix_errno(code), text)  # the constructor picks the subclass
        exc = _windows_flavoured(type(plain))(posix_errno(code), text)
        exc.winerror = code  # type: ignore[attr-defined,unused-ignore]  # Windows-only member elsewhere
    if detail:
        exc.add_note(f"portpool: {detail}")
    return exc


def os_error_from(error: PortPoolError) -> OSError:
    """:func:`os_error` for a refusal of the model (its detail and rule become a note)."""
    return os_error(error.winerror, error.detail)
