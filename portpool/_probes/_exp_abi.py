"""Experiments for the call-shape rules, through the Winsock DLLs themselves."""

from __future__ import annotations

import ctypes
from functools import partial
from typing import Any, Final

from .._types import (
    AF_INET,
    SOCK_DGRAM,
)
from .._winsock._abi import (
    COMPLETION_ROUTINE,
    DWORD,
    INET_PORT_RANGE,
    INET_PORT_RESERVATION_INSTANCE,
    INET_PORT_RESERVATION_TOKEN,
    INVALID_SOCKET,
    SIO_ACQUIRE_PORT_RESERVATION,
    SIO_ASSOCIATE_PORT_RESERVATION,
    SIO_RELEASE_PORT_RESERVATION,
    SOCKET_ERROR,
    WSADATA,
    WSAOVERLAPPED,
    bind_prototypes,
    htons,
)
from ._kit import (
    E,
    Finding,
    by_code,
    expects,
    experiment,
    ok,
    scratch_port,
)
from ._lab import Lab, Seen, Skip

# --- the call shapes, through the DLLs -------------------------------------------------

class _Winsock:
    """Raw Winsock calls for the call-shape rules (B1, B2, B6, B7, B9)."""

    NAMES: Final = ["WSAStartup", "WSACleanup", "WSAGetLastError", "socket", "closesocket",
                    "WSAIoctl", "WSACreateEvent", "WSACloseEvent", "WSAWaitForMultipleEvents"]

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.ws2 = bind_prototypes(lab.dlls()[0], self.NAMES)
        if self.ws2["WSAStartup"](0x0202, ctypes.byref(WSADATA())):
            raise Skip("WSAStartup failed")
        lab.defer("WSACleanup", self.ws2["WSACleanup"])

    def socket(self, kind: int = SOCK_DGRAM) -> int:
        handle = int(self.ws2["socket"](AF_INET, kind, 0))
        if handle == INVALID_SOCKET:
            raise Skip("socket() failed")
        self.lab.defer("closesocket", lambda: self.ws2["closesocket"](handle))
        return handle

    def ioctl(self, label: str, handle: int, code: int, in_buf: Any, in_size: int,
              out_buf: Any, out_size: int) -> tuple[Seen, int]:
        """WSAIoctl; the evidence and *lpcbBytesReturned."""
        returned = DWORD(0xDEAD)
        result = self.ws2["WSAIoctl"](handle, code, ctypes.byref(in_buf) if in_buf is not None
                                      else None, in_size, ctypes.byref(out_buf)
                                      if out_buf is not None else None, out_size,
                                      ctypes.byref(returned), None, None)
        error = int(self.ws2["WSAGetLastError"]()) if result == SOCKET_ERROR else None
        seen = Seen(f"{label} (cbIn {in_size}, cbOut {out_size})", None, error)
        self.lab.note(seen.text() + f"; *lpcbBytesReturned = {returned.value}")
        return seen, int(returned.value)

    def acquire(self, handle: int, start: int, count: int, *, in_size: int = 4,
                out_size: int = 16) -> tuple[Seen, int, int]:
        """SIO_ACQUIRE; the evidence, the bytes returned and the token."""
        request = (ctypes.c_ubyte * 8)()
        ctypes.memmove(request, ctypes.byref(INET_PORT_RANGE(htons(start), count)), 4)
        out = INET_PORT_RESERVATION_INSTANCE()
        seen, returned = self.ioctl(f"SIO_ACQUIRE {start}+{count}", handle,
                                    SIO_ACQUIRE_PORT_RESERVATION, request, in_size, out, out_size)
        return seen, returned, int(out.Token.Token)


@experiment("B2", "SIO_ACQUIRE with an 8-byte output buffer", needs=("dlls",))
def _b2(lab: Lab) -> Finding:
    ws = _Winsock(lab)
    seen, returned, _ = ws.acquire(ws.socket(), 0, 10, out_size=8)
    return by_code("B2", seen) if returned == 0 else None


@experiment("B1", "SIO_ACQUIRE with cbInBuffer 0, 2, 3, 5 and 8", needs=("dlls",))
def _b1(lab: Lab) -> Finding:
    ws = _Winsock(lab)
    handle = ws.socket()
    seen = [ws.acquire(handle, 0, 10, in_size=size)[0] for size in (0, 2, 3, 5, 8)]
    return expects("B1", *seen)


@experiment("B6", "*lpcbBytesReturned after a successful acquire (16), associate and release (0)",
             needs=("dlls",))
def _b6(lab: Lab) -> Finding:
    ws = _Winsock(lab)
    owner, other = ws.socket(), ws.socket()
    seen, returned, token = ws.acquire(owner, scratch_port(lab, 60), 4)
    if not seen.ok:
        raise Skip(f"the setup failed: {seen.text()}")
    buf = INET_PORT_RESERVATION_TOKEN(token)
    assoc, assoc_returned = ws.ioctl("SIO_ASSOCIATE", other, SIO_ASSOCIATE_PORT_RESERVATION,
                                     buf, 8, None, 0)
    rel, rel_returned = ws.ioctl("SIO_RELEASE", owner, SIO_RELEASE_PORT_RESERVATION, buf, 8, None, 0)
    return ok(assoc, rel) and (returned, assoc_returned, rel_returned) == (16, 0, 0)


@experiment("B7", "associate and release with cbInBuffer 0, 4, 7 and with an output buffer",
             needs=("dlls",))
def _b7(lab: Lab) -> Finding:
    ws = _Winsock(lab)
    owner, other = ws.socket(), ws.socket()
    ok, _, token = ws.acquire(owner, scratch_port(lab, 64), 4)
    if not ok.ok:
        raise Skip(f"the setup failed: {ok.text()}")
    buf, out = INET_PORT_RESERVATION_TOKEN(token), INET_PORT_RESERVATION_INSTANCE()
    seen = []
    for name, code in (("SIO_ASSOCIATE", SIO_ASSOCIATE_PORT_RESERVATION),
                       ("SIO_RELEASE", SIO_RELEASE_PORT_RESERVATION)):
        seen += [ws.ioctl(name, other, code, buf, size, None, 0)[0] for size in (0, 4, 7)]
        seen.append(ws.ioctl(name, other, code, buf, 8, out, 16)[0])
    return expects("B7", *seen)


@experiment("B9", "an overlapped acquire with a completion routine, then an alertable wait",
             needs=("dlls",))
def _b9(lab: Lab) -> Finding:
    ws = _Winsock(lab)
    handle = ws.socket()
    event = ws.ws2["WSACreateEvent"]()
    lab.defer("WSACloseEvent", partial(ws.ws2["WSACloseEvent"], event))
    overlapped = WSAOVERLAPPED(hEvent=event)
    calls: list[tuple[int, int]] = []
    routine = COMPLETION_ROUTINE(lambda error, count, _ov, _flags: calls.append((error, count)))
    request = INET_PORT_RANGE(0, 10)
    out = INET_PORT_RESERVATION_INSTANCE()
    returned = DWORD(0)
    result = ws.ws2["WSAIoctl"](handle, SIO_ACQUIRE_PORT_RESERVATION, ctypes.byref(request), 4,
                                ctypes.byref(out), 16, ctypes.byref(returned),
                                ctypes.byref(overlapped), routine)
    error = int(ws.ws2["WSAGetLastError"]()) if result == SOCKET_ERROR else None
    lab.note(Seen("overlapped SIO_ACQUIRE 0+10 with a completion routine", None, error).text())
    if error not in (None, int(E.WSA_IO_PENDING)):
        return False
    events = (ctypes.c_void_p * 1)(event)
    waited = int(ws.ws2["WSAWaitForMultipleEvents"](1, events, 0, 5000, 1))
    lab.note(f"alertable WSAWaitForMultipleEvents -> {waited:#x}; the routine ran with"
             f" (dwError, cbTransferred) {calls}")
    return calls == [(0, 16)]
