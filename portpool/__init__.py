"""portpool: the Windows TCP/UDP port pool, emulated in Python and reached through ctypes.

Everything in ``__all__`` is the public API; the modules behind it are private.
"""

from ._errors import PortPoolError, WinError, winerror
from ._host import EmulatedHost, EmulatedProcess
from ._interface import Address, PortPool, Socket
from ._model._machine import Explanation
from ._registry import BACKENDS, open_pool
from ._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    Binding,
    Family,
    PortRange,
    Protocol,
    Reservation,
)

__version__ = "0.1.0"

__all__ = [
    "AF_INET",
    "AF_INET6",
    "BACKENDS",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_STREAM",
    "Address",
    "Binding",
    "EmulatedHost",
    "EmulatedProcess",
    "Explanation",
    "Family",
    "PortPool",
    "PortPoolError",
    "PortRange",
    "Protocol",
    "Reservation",
    "Socket",
    "WinError",
    "open_pool",
    "winerror",
]
