"""portpool: the Windows TCP/UDP port pool, emulated in Python and reached through ctypes.

Everything in ``__all__`` is the public API; the modules behind it are private.

``import portpool`` imports nothing: each public name is loaded from its module on first
use (PEP 562), so that the pytest plugin, the child-process hook and ``portpool --help``
do not pay for attrs, the model and its rule tables until something asks for them.
Type checkers see every name through the ``TYPE_CHECKING`` imports below.
"""

import os

# ``typing`` is not imported for its TYPE_CHECKING flag (it costs a fresh interpreter
# several milliseconds); type checkers treat any name TYPE_CHECKING as the flag.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._errors import PortPoolError, WinError, windows_code, winerror
    from ._host import EmulatedHost, EmulatedProcess
    from ._interface import Address, PortPool, Socket
    from ._model._machine import Explanation
    from ._model._store import StoreError
    from ._patch import patch
    from ._patch._children import child_environment, share_with_children
    from ._realmachine import ErrorExplanation, NoFreePortError, explain_error, free_port
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

# Where each public name lives (the modules a name's first use imports).
_HOME = {
    **dict.fromkeys(("PortPoolError", "WinError", "windows_code", "winerror"), "_errors"),
    **dict.fromkeys(("EmulatedHost", "EmulatedProcess"), "_host"),
    **dict.fromkeys(("Address", "PortPool", "Socket"), "_interface"),
    "Explanation": "_model._machine",
    "StoreError": "_model._store",
    "patch": "_patch",
    **dict.fromkeys(("child_environment", "share_with_children"), "_patch._children"),
    **dict.fromkeys(("ErrorExplanation", "NoFreePortError", "explain_error", "free_port"),
                    "_realmachine"),
    **dict.fromkeys(("BACKENDS", "open_pool"), "_registry"),
    **dict.fromkeys(("AF_INET", "AF_INET6", "IPPROTO_IPV6", "IPPROTO_TCP", "IPPROTO_UDP",
                     "IPV6_V6ONLY", "SO_EXCLUSIVEADDRUSE", "SO_LINGER", "SO_REUSEADDR",
                     "SOCK_DGRAM", "SOCK_RAW", "SOCK_STREAM", "SOL_SOCKET", "SOMAXCONN",
                     "Binding", "Connection", "Exclusion", "Family", "PortRange", "Protocol",
                     "Reservation", "linger"), "_types"),
    **dict.fromkeys(("CallControl", "EmulatedDlls"), "_winsock._dlls"),
}


if not TYPE_CHECKING:  # hidden from type checkers, so that they still flag a misspelled name

    def __getattr__(name: str) -> object:
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module 'portpool' has no attribute {name!r}")
        value: object = getattr(__import__(f"portpool.{home}", fromlist=[name]), name)
        globals()[name] = value  # the next use is a plain attribute lookup
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
