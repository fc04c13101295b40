"""WSAIoctl and WSPIoctl: the three reservation IOCTLs and others, with every buffer
shape, OVERLAPPED and completion routines; then the checks of the buffers and answers.
"""

from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..._errors import WinError
from ..._winsock import _abi
from ._callers import _DProc, _Pending
from ._dll_ops import _addr, _buffer, _canary_broken, _dll_handle, _pick_dproc, _winsock_failure
from ._report import _UNKNOWN_CODE, _code_name
from ._sources import Source

if TYPE_CHECKING:
    from ._world import World


_STATUS_PENDING: Final = _abi.STATUS_PENDING
_ERRNO_SENTINEL: Final = -7
_ACQ: Final = _abi.SIO_ACQUIRE_PORT_RESERVATION
_ASSOC: Final = _abi.SIO_ASSOCIATE_PORT_RESERVATION
_REL: Final = _abi.SIO_RELEASE_PORT_RESERVATION
_OTHER_IOCTLS: Final = (0x8004667E, 0x4004667F, 0x98000001, 0xC8000006, 0x98000063,
                        0x98000067, 0, 0xFFFFFFFF)
_INSTANCE: Final = ctypes.sizeof(_abi.INET_PORT_RESERVATION_INSTANCE)


@attrs.define(eq=False)
class _IoctlCall:
    """The buffers and sizes of one drawn WSAIoctl/WSPIoctl call (kept alive with it)."""

    proc: _DProc
    handle: int
    code: int
    start: int
    count: int
    token: int
    in_buf: Any
    in_size: int
    in_ptr: int | None
    out_buf: Any
    out_size: int
    out_ptr: int | None
    returned: Any
    bytes_ptr: int | None
    overlapped: Any
    routine: Any
    errno: Any = attrs.Factory(lambda: ctypes.c_int32(_ERRNO_SENTINEL))
    thread_id: Any = attrs.Factory(_abi.WSATHREADID)
    spi_args: tuple[int | None, int | None] | None = None

    @property
    def args(self) -> tuple[Any, ...]:
        base = (self.handle, self.code, self.in_ptr, self.in_size, self.out_ptr, self.out_size,
                self.bytes_ptr, _addr(self.overlapped) if self.overlapped is not None else None,
                ctypes.cast(self.routine, ctypes.c_void_p).value if self.routine else None)
        return base + (self.spi_args or ())

    def failure(self, result: Any) -> int | None:
        """WSPIoctl's code is in ``*lpErrno`` (if the caller gave one)."""
        if result != _abi.SOCKET_ERROR:
            return None
        assert self.spi_args is not None
        return int(self.errno.value) if self.spi_args[1] else _UNKNOWN_CODE


def _ioctl_request(w: World, src: Source, proc: _DProc) -> _IoctlCall:
    """Draw an IOCTL call: code, in/out buffers and sizes, NULLs, OVERLAPPED, routine."""
    handle = _dll_handle(w, src, proc)
    r = src.integer(1, 100)
    code = _ACQ if r <= 45 else _ASSOC if r <= 65 else _REL if r <= 88 else src.choice(_OTHER_IOCTLS)
    in_buf = _buffer(16)
    start = count = token = 0
    if code == _ACQ or (code not in (_ASSOC, _REL) and src.chance(50)):
        start, count = w.ushort(w.port()), w.ushort(w.count())
        request = _abi.INET_PORT_RANGE.from_buffer(in_buf)
        request.StartPort = start if src.chance(8) else _abi.htons(start)  # a forgotten htons
        request.NumberOfPorts = count
        start = _abi.ntohs(request.StartPort)  # what the call asks for, as Windows reads it
        natural_in, natural_out = 4, _INSTANCE
    else:
        value = w.token(proc.pid)
        token = value if isinstance(value, int) and 0 <= value < 2**64 else 0
        _abi.INET_PORT_RESERVATION_TOKEN.from_buffer(in_buf).Token = token
        natural_in, natural_out = 8, 0
    in_size = natural_in if src.chance(93) else src.choice((0, 2, 3, natural_in - 1, natural_in + 1,
                                                            8, 16, 64, 4096, 0xFFFFFFFF))
    out_buf = _buffer(_INSTANCE)
    out_size = natural_out if src.chance(93) else src.choice((0, 12, 15, 16, 17, 64, 0xFFFFFFFF))
    returned = _abi.DWORD(0xDEAD)
    overlapped = routine = None
    if src.chance(15):
        overlapped = _abi.WSAOVERLAPPED()
        if proc.events and src.chance(60):
            overlapped.hEvent = src.choice(proc.events)
        elif src.chance(30):
            overlapped.hEvent = src.choice((0x77777, *proc.closed_events[-1:]))
        if src.chance(40):
            routine = src.choice(w.routines)
            if routine is w.routines[1] and proc.sockets:  # it closes a socket when it runs
                w.apc_victims.append((proc, src.choice(sorted(proc.sockets))))
    return _IoctlCall(
        proc, handle, code, start, count, token, in_buf, in_size,
        None if src.chance(3) else _addr(in_buf), out_buf, out_size,
        None if src.chance(3) or (natural_out == 0 and src.chance(50)) else _addr(out_buf),
        returned, None if src.chance(3) else _addr(returned), overlapped, routine)


def _d_ioctl(w: World, src: Source, *, spi: bool | None = None) -> None:
    """WSAIoctl / WSPIoctl: the three reservation IOCTLs and others, with every buffer shape."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    if spi is None:
        spi = src.chance(25)
    call = _ioctl_request(w, src, proc)
    if spi:
        call.thread_id.ThreadHandle = src.choice((threading.get_ident(), 0, 12345))
        call.spi_args = (None if src.chance(70) else _addr(call.thread_id),
                         None if src.chance(4) else _addr(call.errno))
    name = "WSPIoctl" if spi else "WSAIoctl"
    failure = call.failure if spi else _winsock_failure(w, proc, _abi.SOCKET_ERROR)
    ok, _, error = w.dll_call(f"dll.{name}", proc, name, call.args, failure)
    _ioctl_outcome(w, f"dll.{name}", call, ok, error)


def _ioctl_outcome(w: World, op: str, call: _IoctlCall, ok: bool, error: int | None) -> None:
    """Check an IOCTL's buffers and answers; take in what it granted or released."""
    proc, code, overlapped = call.proc, call.code, call.overlapped
    if call.out_ptr and _canary_broken(call.out_buf, min(call.out_size, _INSTANCE)):
        w.violate("canary", op, f"wrote past cbOutBuffer {call.out_size}")
    if call.spi_args and call.spi_args[1] and not ok and call.errno.value == _ERRNO_SENTINEL:
        w.violate("postcondition", op, "WSPIoctl failed and left *lpErrno unwritten")
    if (not ok and code == _ACQ and call.in_ptr and call.in_size == 4 and call.out_ptr
            and call.out_size < _INSTANCE and call.bytes_ptr and overlapped is None
            and proc.sockets.get(call.handle) is not None and proc.started > 0
            and (call.spi_args is None or call.spi_args[1])
            and "injected" not in proc.ws2.details.text):
        w.stats.checks["short output buffer"] += 1
        if call.returned.value != 0:  # rule B2: *lpcbBytesReturned is set to 0
            w.violate("postcondition", op, f"short cbOutBuffer {call.out_size}: {_code_name(error or 0)},"
                      f" *lpcbBytesReturned {call.returned.value:#x}")
    if (error == int(WinError.WSA_IO_PENDING) and overlapped is not None
            and "injected" not in proc.ws2.details.text):
        # Queued (another thread may even have completed it already): see poll().
        w.pending.append(_Pending(proc, call.handle, code, overlapped, call.out_buf, call.token,
                                  call.start, call.count, (call,)))
        return
    if not ok or (overlapped is not None and int(overlapped.Internal or 0) != 0):
        return  # refused, or completed at once with a failure status
    if (call.bytes_ptr and overlapped is None
            and call.returned.value != (_INSTANCE if code == _ACQ else 0)):
        w.violate("postcondition", op, f"lpcbBytesReturned {call.returned.value} after IOCTL"
                  f" {code:#x}")
    if code == _ACQ:
        w._granted_dll(proc, call.handle, call.out_buf, call.start, call.count, op)
    elif code == _REL:
        w._released(proc.pid, call.token, op)
    elif code != _ASSOC:
        w.violate("postcondition", op, f"IOCTL {code:#x} succeeded")
