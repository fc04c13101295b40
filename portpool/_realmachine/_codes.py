"""The Windows code of any caught OSError (its ``winerror``, else its errno mapped back)."""

from __future__ import annotations

import errno
from typing import Final

__all__ = ["ERRNO_TO_WINERROR", "winerror_of"]

#: errno -> the Windows code Python on Windows reports it for (CPython's
#: ``winerror_to_errno``, read backwards: the six C-mirrored Winsock codes become 13,
#: 22, ...; the other Winsock codes keep an errno of the same name).
ERRNO_TO_WINERROR: Final[dict[int, int]] = {
    errno.EACCES: 10013, errno.EADDRINUSE: 10048, errno.EADDRNOTAVAIL: 10049,
    errno.ECONNREFUSED: 10061, errno.ENOBUFS: 10055, errno.EINVAL: 10022,
    errno.ETIMEDOUT: 10060, errno.ECONNRESET: 10054, errno.ENETUNREACH: 10051,
    errno.EHOSTUNREACH: 10065, errno.EISCONN: 10056,
}

def winerror_of(exc: OSError) -> int | None:
    """The Windows code of a caught OSError: ``exc.winerror`` where it is set (Python on
    Windows, :class:`portpool.PortPoolError`, the patch), else the code Python on Windows
    maps ``exc.errno`` from; ``None`` when neither tells."""
    code = getattr(exc, "winerror", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if exc.errno is None:
        return None
    return ERRNO_TO_WINERROR.get(exc.errno)
