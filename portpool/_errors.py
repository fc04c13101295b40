"""Windows error codes and the one exception type portpool raises.

Every failure portpool reports is a :class:`PortPoolError`: an :class:`OSError`
subclass whose ``.winerror`` is the exact Windows code (an :class:`int`) on every
operating system, whose ``.name`` is that code's symbolic name, and whose
``errno`` is the closest POSIX errno so that ``except OSError`` code written for
other platforms keeps working.  All of them are made by :func:`winerror`.
:func:`windows_code` reads the Windows code of any caught exception, portpool's or not.

Hierarchy::

    OSError
     +-- PortPoolError         .winerror, .name, .code (WinError), .detail
"""

from __future__ import annotations

import enum
import errno as _errno
from typing import Final

__all__ = [
    "PortPoolError",
    "WinError",
    "shown",
    "windows_code",
    "winerror",
]


class WinError(enum.IntEnum):
    """Every Windows code the port-pool APIs can give, by its ``winerror.h`` name.

    The values are checked against the mingw-w64 headers (see ``tests/test_abi.py``),
    except ERROR_ELEVATION_REQUIRED, which mingw-w64's ``winerror.h`` does not define
    (740 in the Windows SDK's ``winerror.h`` and on "System Error Codes (500-999)").
    """

    ERROR_SUCCESS = 0
    ERROR_ACCESS_DENIED = 5
    ERROR_INVALID_HANDLE = 6  # WSA_INVALID_HANDLE
    ERROR_SHARING_VIOLATION = 32
    ERROR_NOT_SUPPORTED = 50
    ERROR_INVALID_PARAMETER = 87
    ERROR_INSUFFICIENT_BUFFER = 122
    ERROR_PROC_NOT_FOUND = 127
    ERROR_ELEVATION_REQUIRED = 740
    ERROR_NOT_FOUND = 1168
    WSA_OPERATION_ABORTED = 995
    WSA_IO_INCOMPLETE = 996
    WSA_IO_PENDING = 997
    WSAEINTR = 10004
    WSAEACCES = 10013
    WSAEFAULT = 10014
    WSAEINVAL = 10022
    WSAEMFILE = 10024
    WSAEWOULDBLOCK = 10035
    WSAEINPROGRESS = 10036
    WSAENOTSOCK = 10038
    WSAEPROTOTYPE = 10041
    WSAENOPROTOOPT = 10042
    WSAEPROTONOSUPPORT = 10043
    WSAESOCKTNOSUPPORT = 10044
    WSAEOPNOTSUPP = 10045
    WSAEAFNOSUPPORT = 10047
    WSAEADDRINUSE = 10048
    WSAEADDRNOTAVAIL = 10049
    WSAENETDOWN = 10050
    WSAENOBUFS = 10055
    WSAEISCONN = 10056
    WSAENOTCONN = 10057
    WSAECONNREFUSED = 10061
    WSAVERNOTSUPPORTED = 10092
    WSANOTINITIALISED = 10093

    @property
    def message(self) -> str:
        """The system message Windows shows for this code (``FormatMessage``, en-US)."""
        return _MESSAGES[self]


# The en-US system messages (FormatMessageW with FORMAT_MESSAGE_FROM_SYSTEM), as
# listed on "Windows Sockets Error Codes" (desktop-src/WinSock/windows-sockets-error-codes-2.md)
# and "System Error Codes (0-499)" / "(500-999)" / "(1000-1299)" in MicrosoftDocs/win32.
_MESSAGES: Final[dict[WinError, str]] = {
    WinError.ERROR_SUCCESS: "The operation completed successfully.",
    WinError.ERROR_ACCESS_DENIED: "Access is denied.",
    WinError.ERROR_INVALID_HANDLE: "The handle is invalid.",
    WinError.ERROR_SHARING_VIOLATION: (
        "The process cannot access the file because it is being used by another process."
    ),
    WinError.ERROR_NOT_SUPPORTED: "The request is not supported.",
    WinError.ERROR_INVALID_PARAMETER: "The parameter is incorrect.",
    WinError.ERROR_INSUFFICIENT_BUFFER: "The data area passed to a system call is too small.",
    WinError.ERROR_PROC_NOT_FOUND: "The specified procedure could not be found.",
    WinError.ERROR_ELEVATION_REQUIRED: "The requested operation requires elevation.",
    WinError.ERROR_NOT_FOUND: "Element not found.",
    WinError.WSA_OPERATION_ABORTED: (
        "The I/O operation has been aborted because of either a thread exit"
        " or an application request."
    ),
    WinError.WSA_IO_INCOMPLETE: "Overlapped I/O event is not in a signaled state.",
    WinError.WSA_IO_PENDING: "Overlapped I/O operation is in progress.",
    WinError.WSAEINTR: "A blocking operation was interrupted by a call to WSACancelBlockingCall.",
    WinError.WSAEACCES: (
        "An attempt was made to access a socket in a way forbidden by its access permissions."
    ),
    WinError.WSAEFAULT: (
        "The system detected an invalid pointer address in attempting to use"
        " a pointer argument in a call."
    ),
    WinError.WSAEINVAL: "An invalid argument was supplied.",
    WinError.WSAEMFILE: "Too many open sockets.",
    WinError.WSAEWOULDBLOCK: "A non-blocking socket operation could not be completed immediately.",
    WinError.WSAEINPROGRESS: "A blocking operation is currently executing.",
    WinError.WSAENOTSOCK: "An operation was attempted on something that is not a socket.",
    WinError.WSAEPROTOTYPE: (
        "A protocol was specified in the socket function call that does not support"
        " the semantics of the socket type requested."
    ),
    WinError.WSAENOPROTOOPT: (
        "An unknown, invalid, or unsupported option or level was specified in a getsockopt"
        " or setsockopt call."
    ),
    WinError.WSAEPROTONOSUPPORT: (
        "The requested protocol has not been configured into the system,"
        " or no implementation for it exists."
    ),
    WinError.WSAESOCKTNOSUPPORT: (
        "The support for the specified socket type does not exist in this address family."
    ),
    WinError.WSAEOPNOTSUPP: (
        "The attempted operation is not supported for the type of object referenced."
    ),
    WinError.WSAEAFNOSUPPORT: (
        "An address incompatible with the requested protocol was used."
    ),
    WinError.WSAEADDRINUSE: (
        "Only one usage of each socket address (protocol/network address/port)"
        " is normally permitted."
    ),
    WinError.WSAEADDRNOTAVAIL: "The requested address is not valid in its context.",
    WinError.WSAENETDOWN: "A socket operation encountered a dead network.",
    WinError.WSAENOBUFS: (
        "An operation on a socket could not be performed because the system lacked"
        " sufficient buffer space or because a queue was full."
    ),
    WinError.WSAEISCONN: "A connect request was made on an already connected socket.",
    WinError.WSAENOTCONN: (
        "A request to send or receive data was disallowed because the socket is not connected"
        " and (when sending on a datagram socket using a sendto call) no address was supplied."
    ),
    WinError.WSAECONNREFUSED: (
        "No connection could be made because the target machine actively refused it."
    ),
    WinError.WSAVERNOTSUPPORTED: (
        "The Windows Sockets version requested is not supported."
    ),
    WinError.WSANOTINITIALISED: (
        "Either the application has not called WSAStartup, or WSAStartup failed."
    ),
}

# The POSIX errno a Linux program would expect for the same failure.  Names, not
# numbers, because the values differ between platforms (and ESOCKTNOSUPPORT is
# absent on Windows); a name the platform lacks falls back to EINVAL.
_ERRNO_NAMES: Final[dict[WinError, str]] = {
    WinError.ERROR_SUCCESS: "EINVAL",
    WinError.ERROR_ACCESS_DENIED: "EACCES",
    WinError.ERROR_INVALID_HANDLE: "EBADF",
    WinError.ERROR_SHARING_VIOLATION: "EBUSY",
    WinError.ERROR_NOT_SUPPORTED: "EOPNOTSUPP",
    WinError.ERROR_INVALID_PARAMETER: "EINVAL",
    WinError.ERROR_INSUFFICIENT_BUFFER: "ENOBUFS",
    WinError.ERROR_PROC_NOT_FOUND: "ENOSYS",
    WinError.ERROR_ELEVATION_REQUIRED: "EACCES",
    WinError.ERROR_NOT_FOUND: "ENOENT",
    WinError.WSA_OPERATION_ABORTED: "ECANCELED",
    WinError.WSA_IO_INCOMPLETE: "EINPROGRESS",
    WinError.WSA_IO_PENDING: "EINPROGRESS",
    WinError.WSAEINTR: "EINTR",
    WinError.WSAEACCES: "EACCES",
    WinError.WSAEFAULT: "EFAULT",
    WinError.WSAEINVAL: "EINVAL",
    WinError.WSAEMFILE: "EMFILE",
    WinError.WSAEWOULDBLOCK: "EWOULDBLOCK",
    WinError.WSAEINPROGRESS: "EINPROGRESS",
    WinError.WSAENOTSOCK: "ENOTSOCK",
    WinError.WSAEPROTOTYPE: "EPROTOTYPE",
    WinError.WSAENOPROTOOPT: "ENOPROTOOPT",
    WinError.WSAEPROTONOSUPPORT: "EPROTONOSUPPORT",
    WinError.WSAESOCKTNOSUPPORT: "ESOCKTNOSUPPORT",
    WinError.WSAEOPNOTSUPP: "EOPNOTSUPP",
    WinError.WSAEAFNOSUPPORT: "EAFNOSUPPORT",
    WinError.WSAEADDRINUSE: "EADDRINUSE",
    WinError.WSAEADDRNOTAVAIL: "EADDRNOTAVAIL",
    WinError.WSAENETDOWN: "ENETDOWN",
    WinError.WSAENOBUFS: "ENOBUFS",
    WinError.WSAEISCONN: "EISCONN",
    WinError.WSAENOTCONN: "ENOTCONN",
    WinError.WSAECONNREFUSED: "ECONNREFUSED",
    WinError.WSAVERNOTSUPPORTED: "EINVAL",
    WinError.WSANOTINITIALISED: "EINVAL",
}


class PortPoolError(OSError):
    """A Windows port-pool call failed.

    Attributes:
        winerror: the Windows error code (``int``), on every operating system.
            (Python's own ``OSError.winerror`` exists only on Windows.)
        code: the same code as a :class:`WinError`.
        name: its symbolic name, for example ``"WSAEADDRINUSE"``.
        detail: what portpool knows about this failure (which port, which rule).
        errno: the nearest POSIX errno, so portable ``except OSError`` code works.

    ``str(err)`` reads ``[WinError 10048] WSAEADDRINUSE: Only one usage ... (detail)``.
    """

    def __init__(self, code: WinError | int, detail: str = "") -> None:
        try:
            known = WinError(code)
        except ValueError:
            known = None
        self._code = int(code)
        self._known = known
        self.detail = detail
        message = known.message if known is not None else f"Unknown Windows error {int(code)}."
        errno_name = _ERRNO_NAMES[known] if known is not None else "EINVAL"
        super().__init__(getattr(_errno, errno_name, _errno.EINVAL), message)

    # A property, so that it shadows OSError's Windows-only member on Windows
    # and exists on every other platform.
    @property
    def winerror(self) -> int:  # type: ignore[override,unused-ignore]  # OSError.winerror: Windows-only
        """The Windows error code."""
        return self._code

    @property
    def code(self) -> WinError | None:
        """The code as a :class:`WinError`, or ``None`` for a code portpool does not list."""
        return self._known

    @property
    def name(self) -> str:
        """The symbolic name, such as ``"WSAEACCES"``."""
        return self._known.name if self._known is not None else f"WINERROR_{self._code}"

    def __str__(self) -> str:
        text = f"[WinError {self._code}] {self.name}: {self.strerror}"
        return f"{text} ({self.detail})" if self.detail else text

    def __reduce__(self) -> tuple[type[PortPoolError], tuple[int, str]]:
        return (type(self), (self._code, self.detail))


def winerror(code: WinError | int, detail: str = "") -> PortPoolError:
    """Make the :class:`PortPoolError` for ``code``: the one place errors are created.

    Callers ``raise winerror(WinError.WSAEACCES, "port 50000 is reserved")``.
    """
    return PortPoolError(code, detail)


def windows_code(error: BaseException) -> int | None:
    """The Windows error code a caught exception carries, on every OS; ``None`` if none.

    Python sets ``OSError.winerror`` only on Windows, and typeshed declares the attribute
    only for ``sys.platform == "win32"``, so ``err.winerror`` in your own code fails
    ``mypy --strict`` on Linux even where the attribute is there.  This function type-checks
    everywhere and reads the code from:

    * portpool's own errors (:class:`PortPoolError`), on every OS;
    * the errors code under :func:`portpool.patch` gets (``PermissionError`` with
      ``winerror`` 10013, ...), on every OS;
    * Python's own errors on Windows (``OSError.winerror``, ``ctypes.WinError()``).

    Args:
        error: any exception (usually an :class:`OSError` you caught).

    Returns:
        The code as a plain ``int`` (compare it with ``10013`` or
        ``WinError.WSAEACCES``), or ``None`` when the exception carries no Windows code
        (a ``ValueError``, or an ``OSError`` raised by Linux).
    """
    code = getattr(error, "winerror", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return int(code)
    return None


def shown(value: object) -> str:
    """``repr(value)`` for a message, or a short stand-in where Python will not write the
    value: an int of more digits than ``sys.get_int_max_str_digits()`` (4,300 by default)
    makes ``repr`` raise ValueError, which would replace the error being reported."""
    try:
        return repr(value)
    except ValueError:
        if isinstance(value, int):
            digits = int(value.bit_length() * 0.30103) + 1
            return f"<{'-' if value < 0 else ''}int of about {digits:,} digits>"
        return f"<{type(value).__name__} too long to show>"
