"""portpool: the Windows TCP/UDP port pool, emulated in Python and reached through ctypes.

Everything in ``__all__`` is the public API; the modules behind it are private.
"""

import importlib
import os
from typing import TYPE_CHECKING

from ._errors import PortPoolError, WinError, winerror
from ._host import EmulatedHost, EmulatedProcess
from ._interface import Address, PortPool, Socket
from ._model._machine import Explanation
from ._model._store import StoreError
from ._registry import BACKENDS, open_pool
from ._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_LINGER,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_SOCKET,
    SOMAXCONN,
    Binding,
    Connection,
    Exclusion,
    Family,
    PortRange,
    Protocol,
    Reservation,
    linger,
)

# In a source checkout, backends/ sits beside portpool/ and installs as portpool.backends
# (setuptools package-dir).  The editable install links it into place, but Python started
# in the checkout (`python -m pytest`) imports this folder itself: let it find backends/
# there too.  Only a checkout has both pyproject.toml and backends/ beside portpool/.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if (not os.path.isdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "backends"))
        and os.path.isfile(os.path.join(_ROOT, "pyproject.toml"))
        and os.path.isfile(os.path.join(_ROOT, "backends", "__init__.py"))):
    __path__.append(_ROOT)

if TYPE_CHECKING:
    from ._patch import patch
    from ._winsock._dlls import CallControl, EmulatedDlls

__version__ = "0.1.0"

# The emulated DLLs import ctypes, so they load on first use, not with portpool.
_LAZY = {"CallControl": "portpool._winsock._dlls", "EmulatedDlls": "portpool._winsock._dlls",
         "patch": "portpool._patch"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'portpool' has no attribute {name!r}")


__all__ = [
    "AF_INET",
    "AF_INET6",
    "BACKENDS",
    "IPPROTO_IPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "IPV6_V6ONLY",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_STREAM",
    "SOL_SOCKET",
    "SOMAXCONN",
    "SO_EXCLUSIVEADDRUSE",
    "SO_LINGER",
    "SO_REUSEADDR",
    "Address",
    "Binding",
    "CallControl",
    "Connection",
    "EmulatedDlls",
    "EmulatedHost",
    "EmulatedProcess",
    "Exclusion",
    "Explanation",
    "Family",
    "PortPool",
    "PortPoolError",
    "PortRange",
    "Protocol",
    "Reservation",
    "Socket",
    "StoreError",
    "WinError",
    "linger",
    "open_pool",
    "patch",
    "winerror",
]
