"""Call control: ``fail_next`` fault injection (then a call of that function must fail
with that code and change nothing), hostile ``fail_next`` arguments, pending overlapped
completion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..._errors import WinError
from ._dll_ops import _d_bind, _d_closesocket, _d_getsockname, _d_persistent, _d_socket, _d_startup
from ._ioctl_ops import _d_ioctl
from ._sources import Source

if TYPE_CHECKING:
    from ._world import World


#: DLL functions the fault pairs inject into, and the operation that then calls them.
_FAULTABLE: Final[dict[str, Callable[[World, Source], None]]] = {
    "socket": _d_socket,
    "bind": _d_bind,
    "getsockname": _d_getsockname,
    "closesocket": _d_closesocket,
    "WSAIoctl": functools.partial(_d_ioctl, spi=False),
    "WSPIoctl": functools.partial(_d_ioctl, spi=True),
    "WSAStartup": _d_startup,
    **{name: functools.partial(_d_persistent, function=name)
       for name in (f"{verb}Persistent{proto}PortReservation"
                    for verb in ("Create", "Lookup", "Delete") for proto in ("Tcp", "Udp"))},
}


def _c_fault(w: World, src: Source) -> None:
    """``fail_next(function, code)`` and at once a call of that function: it must fail
    with that code and change nothing."""
    function = src.choice(sorted(_FAULTABLE))
    code: int = src.choice(list(WinError)) if src.chance(80) else src.choice(
        (0, -1, 1, 2**31, 2**32, 2**32 + 10048, 10**20))
    control = w.host.calls
    if not w.threaded:  # faults left queued by fail_next_hostile would come first
        while control.take_fault(function) is not None:
            pass
    ok, _ = w.call("dll.fail_next", (function, code),
                   lambda: control.fail_next(function, code), compare="none")
    if not ok:
        return
    w.expected_fault = None if w.threaded else (function, int(code))  # threads take faults too
    _FAULTABLE[function](w, src)
    if w.expected_fault is not None:
        # The op made no call of that function (nothing to call it on): take it out again.
        w.expected_fault = None
        w.call("dll.fail_next", (function, "drain"), lambda: w.host.calls.take_fault(function),
               compare="none")


def _c_fail_next_hostile(w: World, src: Source) -> None:
    """``fail_next`` with hostile arguments (left queued for whoever calls next)."""
    function: object = src.choice((*_FAULTABLE, "nope", "", None, 5, b"bind"))
    code: object = src.choice((WinError.WSAENETDOWN, 10050, 0, -1, 2**32, "x", None, 1.5, True))
    times: object = src.choice((1, 1, 2, 0, -1, True, "2", None, 1.0))
    w.call("dll.fail_next", (function, code, times),
           lambda: w.host.calls.fail_next(function, code, times=times), compare="none")  # type: ignore[arg-type]


def _c_pend(w: World, src: Source) -> None:
    """Toggle ``pend_overlapped``, or ``complete_pending()``."""
    control = w.host.calls
    if src.chance(50):
        value = src.chance(50)
        w.call("dll.pend_overlapped", (value,), lambda: setattr(control, "pend_overlapped", value),
               compare="none")
    else:
        w.call("dll.complete_pending", (), control.complete_pending, compare="none")
        w.poll()
