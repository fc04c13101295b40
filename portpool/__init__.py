"""portpool: the Windows TCP/UDP port pool, emulated in Python and reached through ctypes.

Everything in ``__all__`` is the public API; the modules behind it are private.
"""

import importlib
import os
from typing import TYPE_CHECKING

from ._errors import PortPoolError, WinError, windows_code, winerror
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

if TYPE_CHECKING:
    from ._patch import patch
    from ._patch._children import child_environment, share_with_children
    from ._realmachine import ErrorExplanation, NoFreePortError, explain_error, free_port
    from ._winsock._dlls import CallControl, EmulatedDlls

__version__ = "0.1.0"

# backends/ sits beside portpool/ in a source checkout and installs as portpool.backends
# (pyproject's package-dir).  Code run inside the checkout (`python -m pytest`) imports
# this folder itself, not the installed copy: let it find backends/ there too.  Only a
# checkout has pyproject.toml and backends/__init__.py beside portpool/.
_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
if (not os.path.isdir(os.path.join(_HERE, "backends"))
        and os.path.isfile(os.path.join(_ROOT, "pyproject.toml"))
        and os.path.isfile(os.path.join(_ROOT, "backends", "__init__.py"))):
    __path__.append(_ROOT)
del _HERE, _ROOT

# The emulated DLLs import ctypes, so they load on first use, not with portpool.
_LAZY = {"CallControl": "portpool._winsock._dlls", "EmulatedDlls": "portpool._winsock._dlls",
         "patch": "portpool._patch", "free_port": "portpool._realmachine",
         "explain_error": "portpool._realmachine", "ErrorExplanation": "portpool._realmachine",
         "NoFreePortError": "portpool._realmachine", "share_with_children": "portpool._patch._children",
         "child_environment": "portpool._patch._children"}


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
    "ErrorExplanation",
    "Exclusion",
    "Explanation",
    "Family",
    "NoFreePortError",
    "PortPool",
    "PortPoolError",
    "PortRange",
    "Protocol",
    "Reservation",
    "Socket",
    "StoreError",
    "WinError",
    "child_environment",
    "explain_error",
    "free_port",
    "linger",
    "open_pool",
    "patch",
    "share_with_children",
    "windows_code",
    "winerror",
]
