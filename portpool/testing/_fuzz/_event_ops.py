"""Operations on the DLL surface's events and waits: WSACreateEvent and its kin on own,
closed and foreign handles, WSAWaitForMultipleEvents with counts up to 65 (and huge ones
when allowed) and alertable waits, WSAGetOverlappedResult on pending and fresh OVERLAPPEDs.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Final

from ..._winsock import _abi
from ._dll_ops import _addr, _dll_handle, _pick_dproc, _winsock_failure
from ._sources import Source

if TYPE_CHECKING:
    from ._world import World


_WSA_WAIT_FAILED: Final = 0xFFFFFFFF
_WSA_MAXIMUM_WAIT_EVENTS: Final = 64


def _d_events(w: World, src: Source) -> None:
    """WSACreateEvent / WSACloseEvent / WSASetEvent / WSAResetEvent."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    verb = src.choice(("WSACreateEvent", "WSASetEvent", "WSAResetEvent", "WSACloseEvent"))
    if verb == "WSACreateEvent" or not proc.events:
        if len(proc.events) >= 8:
            verb = "WSACloseEvent"
        else:
            ok, handle, _ = w.dll_call("dll.events", proc, "WSACreateEvent", (),
                                       _winsock_failure(w, proc, 0))
            if ok:
                proc.events.append(int(handle))
            return
    r = src.integer(1, 100)
    if r <= 80 and proc.events:
        handle = src.choice(proc.events)
    elif r <= 88 and proc.closed_events:
        handle = src.choice(proc.closed_events)
    else:
        handle = src.choice((0, 0x77777, *(h for p in w.dprocs for h in p.events)))
    ok, _, _ = w.dll_call("dll.events", proc, verb, (handle,), _winsock_failure(w, proc, 0))
    if ok and verb == "WSACloseEvent" and handle in proc.events:
        proc.events.remove(handle)
        proc.closed_events.append(handle)


def _d_wait(w: World, src: Source) -> None:
    """WSAWaitForMultipleEvents: counts 0..65 (and huge ones if allowed), alertable waits."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    count = src.choice((1, 1, 2, 3, 0, 8, 64, 65))
    array_len = max(count, 1)
    if w.options.unsafe_wait_counts and src.chance(10):
        count, array_len = src.choice((2**31 - 1, 0xFFFFFFFF, 1000)), 65
    handles = (ctypes.c_void_p * array_len)()
    for i in range(array_len):
        handles[i] = src.choice(proc.events) if proc.events and src.chance(85) else 0x77777
    pointer = None if src.chance(5) else _addr(handles)
    alertable = int(src.chance(40))
    args = (count, pointer, int(src.chance(30)), src.choice((0, 10, 0xFFFFFFFF)), alertable)
    ok, result, _ = w.dll_call("dll.WSAWaitForMultipleEvents", proc, "WSAWaitForMultipleEvents",
                               args, _winsock_failure(w, proc, _WSA_WAIT_FAILED))
    if ok and count > _WSA_MAXIMUM_WAIT_EVENTS and result != _abi.WSA_WAIT_IO_COMPLETION:
        w.violate("postcondition", "dll.WSAWaitForMultipleEvents",
                  f"{count} events (more than WSA_MAXIMUM_WAIT_EVENTS) gave {result:#x}")


def _d_overlapped_result(w: World, src: Source) -> None:
    """WSAGetOverlappedResult on pending, finished, fresh and NULL OVERLAPPEDs."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    overlapped = src.choice(w.pending).overlapped if w.pending and src.chance(60) else _abi.WSAOVERLAPPED()
    transfer, flags = _abi.DWORD(), _abi.DWORD()
    args = (_dll_handle(w, src, proc), None if src.chance(5) else _addr(overlapped),
            None if src.chance(5) else _addr(transfer), int(src.chance(50)),
            None if src.chance(5) else _addr(flags))
    w.dll_call("dll.WSAGetOverlappedResult", proc, "WSAGetOverlappedResult", args,
               _winsock_failure(w, proc, 0))
