"""Emulated ``ws2_32`` and ``iphlpapi``: real C function pointers over the model.

``EmulatedHost.dlls()`` gives a process a pair of objects whose attributes are ctypes
function pointers (``CFUNCTYPE``; ``WINFUNCTYPE`` on Windows) with the exact C
prototypes of ``portpool._winsock._abi``.  A caller passes real pointers; the emulator reads
and writes real buffers.  So the ctypes backend (``portpool.backends.windows``) runs
unchanged over these or over the real DLLs, and C-shaped mistakes (a short buffer,
a host-order port) behave as on Windows.

Theory of operation
-------------------
Each exported function is a Python function wrapped by ``_export``: it never lets a
Python exception cross into C.  A ``PortPoolError`` (from the model or from the
call-shape checks here, rules B1-B14, O3) becomes the function's failure value plus the
per-thread last error (Winsock) or the function's result (IP Helper).

Overlapped IOCTLs (rule B9) either complete at once or, when the host's
``CallControl.pend_overlapped`` is set, wait in a FIFO until the test calls
``complete_pending()``; the model operation runs at completion time, so closing the
socket first aborts them with WSA_OPERATION_ABORTED and no effect (B10).  Completion
routines are queued per thread and run when that thread calls
``WSAWaitForMultipleEvents`` with ``fAlertable`` (the emulator never blocks).

``ws2_32`` exports WSAStartup, WSACleanup, WSAGetLastError, socket, bind, getsockname,
connect, listen, accept, getpeername, setsockopt, getsockopt, closesocket, WSAIoctl (the
three SIO_*_PORT_RESERVATION codes and SIO_CPU_AFFINITY; any other code is B8), WSPIoctl
and the WSA event calls; ``iphlpapi`` the six persistent-reservation functions.  The
options are the ones Windows has (portpool/_model/_sockopts.py, O1): setsockopt passes the
model up to 8 bytes of optval, getsockopt writes the option's width (B17, B18); SO_LINGER
is a LINGER of two u_shorts (T4).  accept never blocks: with nothing waiting it fails with
WSAEWOULDBLOCK (S7).

What it cannot do: detect a non-NULL pointer that is not valid memory (Windows says
WSAEFAULT; here the process would crash), or block.
"""

from __future__ import annotations

import ctypes
import ipaddress
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final
from typing import Protocol as _Protocol

import attrs

from .._errors import PortPoolError, WinError, shown, winerror
from .._model._rules import refuse
from .._types import Family, Protocol, address_text
from . import _abi

if TYPE_CHECKING:
    from .._model._machine import Machine


class MachineHost(_Protocol):
    """What the DLLs need of the host that hands itself in (an :class:`~portpool.EmulatedHost`).

    Typed by shape, so that this module never imports the host, which imports it.
    """

    @property
    def machine(self) -> Machine: ...
    @property
    def lock(self) -> threading.RLock: ...
    @property
    def variants(self) -> dict[str, str]: ...


class _CFunction(_Protocol):
    """An exported function: a ctypes function pointer whose C result is an integer type
    (int, SOCKET, DWORD, BOOL, ULONG), which ctypes gives as a Python ``int``."""

    def __call__(self, *args: Any) -> int: ...


class _CHandleFunction(_Protocol):
    """An exported function whose C result is a HANDLE (``c_void_p``: NULL is ``None``)."""

    def __call__(self, *args: Any) -> int | None: ...


__all__ = ["CallControl", "EmulatedDlls", "EmulatedIphlpapi", "EmulatedWs2_32"]

_WSADATA_VERSION: Final = 0x0202
_AF_UNSPEC: Final = 0
_FIRST_EVENT: Final = 0x1000
_INSTANCE_SIZE: Final = ctypes.sizeof(_abi.INET_PORT_RESERVATION_INSTANCE)
_RANGE_SIZE: Final = ctypes.sizeof(_abi.INET_PORT_RANGE)
_TOKEN_SIZE: Final = ctypes.sizeof(_abi.INET_PORT_RESERVATION_TOKEN)
#: A BOOL or DWORD option's width (O3, B17).
_BOOL_SIZE: Final = ctypes.sizeof(_abi.INT)
#: The most bytes setsockopt passes on: no option the model knows is wider (O3).
_LONGEST_OPTION: Final = 8
#: SIO_CPU_AFFINITY's input: the processor number as a USHORT, as msquic passes it.
_PROCESSOR_SIZE: Final = ctypes.sizeof(_abi.USHORT)
#: The IOCTLs the emulated provider supports; any other code is refused (B8).
_IOCTLS: Final = frozenset({_abi.SIO_ACQUIRE_PORT_RESERVATION, _abi.SIO_ASSOCIATE_PORT_RESERVATION,
                            _abi.SIO_RELEASE_PORT_RESERVATION, _abi.SIO_CPU_AFFINITY})
#: winsock2.h: the most handles WSAWaitForMultipleEvents takes (MAXIMUM_WAIT_OBJECTS).
WSA_MAXIMUM_WAIT_EVENTS: Final = 64
#: The largest code fail_next injects: WSAGetLastError returns a C int.
_MAX_CODE: Final = 2**31 - 1
#: The calls that set WSAGetLastError to 0 when they succeed (B16).
_CLEARS_LAST_ERROR: Final = frozenset({"WSACleanup", "socket", "bind", "getsockname", "connect",
                                       "getpeername", "setsockopt", "getsockopt", "closesocket",
                                       "WSAIoctl"})
#: Functions whose result is the code itself, so that a code of 0 means success.
_CODE_IS_RESULT: Final = frozenset(
    {"WSAStartup", "WSAGetLastError"}
    | {name for name, proto in _abi.PROTOTYPES.items() if proto.dll == "iphlpapi"})


@attrs.define(eq=False)
class _Pending:
    ws2: EmulatedWs2_32
    socket: int
    overlapped: int
    routine: int | None
    thread: int
    action: Callable[[], int]  # runs the model op, writes outputs, returns bytes


class CallControl:
    """Call-level modes of one emulated host, shared by all its DLL pairs.

    Any method may be called from any thread.  The emulated DLL calls themselves hold
    the host's lock (:attr:`EmulatedHost.lock`); this object's own lock, made with it,
    only guards its queues and is never held while the model runs, so the two locks
    cannot deadlock.

    Attributes:
        pend_overlapped: when true, overlapped IOCTLs return WSA_IO_PENDING and wait
            for :meth:`complete_pending`.
    """

    def __init__(self) -> None:
        self.pend_overlapped = False
        self._lock = threading.Lock()  # innermost: guards _faults and _pending only
        self._faults: dict[str, deque[list[int]]] = {}  # function -> [code, calls left]
        self._pending: deque[_Pending] = deque()

    def fail_next(self, function: str, code: WinError | int, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``function`` fail with ``code`` and do nothing else.

        For error paths real Windows rarely shows (WSAENETDOWN, WSAEINTR,
        WSAEINPROGRESS, ...).  A Winsock function fails with its failure value and
        ``code`` from WSAGetLastError (``WSPIoctl``: in ``*lpErrno``); an IP Helper
        function returns ``code``.

        Args:
            function: an exported name, for example ``"WSAIoctl"`` or
                ``"CreatePersistentTcpPortReservation"``.
            code: the Windows error code, 1 to 2**31-1.  0 is accepted only by a
                function that fails by its return value (``socket``, ``bind``,
                ``WSAIoctl``, ...): it fails without setting WSAGetLastError, as a
                buggy provider may.  Where the result is the code itself (IP Helper,
                WSAStartup, WSAGetLastError) 0 would read as success and is refused.
            times: how many calls fail, at least 1.

        Raises:
            TypeError: ``function`` is not a str, or ``code`` or ``times`` not an int.
            ValueError: an unknown function, a code that would read as success or
                that no C int holds, or ``times`` below 1.
        """
        if not isinstance(function, str):
            raise TypeError(f"function must be a str, not {type(function).__name__}")
        if function not in _abi.PROTOTYPES:
            raise ValueError(f"no emulated function {shown(function)}")
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"code must be an int, not {type(code).__name__}")
        lowest = 1 if function in _CODE_IS_RESULT else 0
        if not lowest <= code <= _MAX_CODE:
            raise ValueError(f"code {code} for {function}: a failure code is {lowest} to"
                             f" {_MAX_CODE} (anything else would read as success or not fit)")
        if not isinstance(times, int) or isinstance(times, bool):
            raise TypeError(f"times must be an int, not {type(times).__name__}")
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        with self._lock:
            self._faults.setdefault(function, deque()).append([int(code), times])

    def take_fault(self, function: str) -> int | None:
        """The injected code for this call of ``function``, if any (consumed)."""
        with self._lock:
            queue = self._faults.get(function)
            if not queue:
                return None
            entry = queue[0]
            entry[1] -= 1
            if entry[1] == 0:
                queue.popleft()
            return entry[0]

    @property
    def pending(self) -> int:
        """How many overlapped operations wait for completion."""
        with self._lock:
            return len(self._pending)

    def complete_pending(self) -> int:
        """Complete every pending operation, oldest first; returns how many.

        Each runs under its host's lock, as the DLL call that queued it would have, and
        is taken off the queue only once that lock is held: a closesocket in another
        thread either aborts it first (B10) or finds it completed.
        """
        done = 0
        while True:
            with self._lock:
                if not self._pending:
                    return done
                op = self._pending[0]
            with op.ws2.host.lock:  # the host's lock, then ours: the order of a DLL call
                with self._lock:
                    if not self._pending or self._pending[0] is not op:
                        continue  # aborted or completed meanwhile
                    self._pending.popleft()
                try:
                    code, count = 0, op.action()
                except PortPoolError as exc:
                    code, count = exc.winerror, 0
                op.ws2.finish(op, code, count)
            done += 1

    def abort(self, ws2: EmulatedWs2_32, sockets: set[int]) -> None:
        """Complete the pending operations on ``sockets`` with WSA_OPERATION_ABORTED (B10).

        The caller holds the host's lock.
        """
        with self._lock:
            ops = [p for p in self._pending if p.ws2 is ws2 and p.socket in sockets]
            for op in ops:
                self._pending.remove(op)
        for op in ops:
            ws2.finish(op, int(WinError.WSA_OPERATION_ABORTED), 0)

    def queue(self, op: _Pending) -> None:
        """Hold an overlapped operation until :meth:`complete_pending`."""
        with self._lock:
            self._pending.append(op)


def _export(owner: Any, name: str, impl: Callable[..., Any],
            on_error: Callable[[PortPoolError, tuple[Any, ...]], Any],
            on_success: Callable[[], None] | None = None) -> Any:
    """A C function pointer for ``impl`` with ``name``'s prototype, which never raises.

    Every call holds the host's lock (one per host, made with it), so C callers may use
    threads as on Windows.  A failure, injected or not, goes to ``on_error`` with the
    call's arguments (WSPIoctl writes ``*lpErrno`` from them); a success runs
    ``on_success`` (Winsock calls set WSAGetLastError to 0: B16).
    """
    proto = _abi.PROTOTYPES[name]
    lock, control, details = owner.host.lock, owner.control, owner.details

    def guarded(*args: Any) -> Any:
        try:
            with lock:
                fault = control.take_fault(name)
                if fault is not None:
                    raise winerror(fault, f"injected fault in {name}")
                result = impl(*args)
                if on_success is not None:
                    on_success()
                return result
        except PortPoolError as exc:
            details.text = exc.detail
            return on_error(exc, args)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = winerror(WinError.WSAEFAULT, f"{name}: {shown(exc)}")
            details.text = error.detail
            return on_error(error, args)

    return proto.functype(guarded)


def _read_ptr_array(address: int, count: int) -> list[int]:
    return [v or 0 for v in (ctypes.c_void_p * count).from_address(address)]


class _Details:
    """Why the last call of this thread failed (a Python-side extra, not a DLL export)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def text(self) -> str:
        return str(getattr(self._local, "text", ""))

    @text.setter
    def text(self, value: str) -> None:
        self._local.text = value


class EmulatedWs2_32:
    """``ws2_32``-shaped functions of one emulated process (see the module docstring)."""

    # The exports, made in __init__ (one C function pointer each, prototype from
    # _abi.PROTOTYPES); declared here so that callers are type-checked.
    # tests/test_dlls.py checks that these are exactly the exports.
    WSAStartup: _CFunction
    WSACleanup: _CFunction
    WSAGetLastError: _CFunction
    socket: _CFunction
    bind: _CFunction
    getsockname: _CFunction
    connect: _CFunction
    listen: _CFunction
    accept: _CFunction
    getpeername: _CFunction
    setsockopt: _CFunction
    getsockopt: _CFunction
    closesocket: _CFunction
    WSAIoctl: _CFunction
    WSPIoctl: _CFunction
    WSACreateEvent: _CHandleFunction
    WSACloseEvent: _CFunction
    WSASetEvent: _CFunction
    WSAResetEvent: _CFunction
    WSAWaitForMultipleEvents: _CFunction
    WSAGetOverlappedResult: _CFunction

    def __init__(self, host: MachineHost, pid: int, control: CallControl) -> None:
        self.host, self.pid, self.control = host, pid, control
        self.details = _Details()
        self._machine = host.machine
        self._started = 0
        self._last = threading.local()
        self._events: dict[int, bool] = {}
        self._next_event = _FIRST_EVENT
        self._apcs: dict[int, deque[tuple[int, int, int, int]]] = {}
        socket_error = self._fail(_abi.SOCKET_ERROR)
        for name, impl, on_error in (
            ("WSAStartup", self._startup, _return_code),
            ("WSACleanup", self._cleanup, socket_error),
            ("WSAGetLastError", self._get_last_error, _return_code),
            ("socket", self._socket, self._fail(_abi.INVALID_SOCKET)),
            ("bind", self._bind, socket_error),
            ("getsockname", self._getsockname, socket_error),
            ("connect", self._connect, socket_error),
            ("listen", self._listen, socket_error),
            ("accept", self._accept, self._fail(_abi.INVALID_SOCKET)),
            ("getpeername", self._getpeername, socket_error),
            ("setsockopt", self._setsockopt, socket_error),
            ("getsockopt", self._getsockopt, socket_error),
            ("closesocket", self._closesocket, socket_error),
            ("WSAIoctl", self._wsaioctl, socket_error),
            ("WSPIoctl", self._wspioctl, _wsp_error),
            ("WSACreateEvent", self._create_event, self._fail(_abi.WSA_INVALID_EVENT)),
            ("WSACloseEvent", self._close_event, self._fail(0)),
            ("WSASetEvent", lambda h: self._signal(h, True), self._fail(0)),
            ("WSAResetEvent", lambda h: self._signal(h, False), self._fail(0)),
            ("WSAWaitForMultipleEvents", self._wait, self._fail(0xFFFFFFFF)),
            ("WSAGetOverlappedResult", self._overlapped_result, self._fail(0)),
        ):
            clears = self._clear_last if name in _CLEARS_LAST_ERROR else None
            setattr(self, name, _export(self, name, impl, on_error, clears))

    def __repr__(self) -> str:
        return f"<emulated ws2_32 of process {self.pid}>"

    # --- errors -----------------------------------------------------------------------

    def _fail(self, value: int) -> Callable[[PortPoolError, tuple[Any, ...]], int]:
        def record(exc: PortPoolError, args: tuple[Any, ...]) -> int:
            del args
            self._last.code = exc.winerror
            return value

        return record

    def _get_last_error(self) -> int:
        return int(getattr(self._last, "code", 0))

    def _clear_last(self) -> None:
        self._last.code = 0  # B16: a call that succeeds leaves WSAGetLastError 0

    def _need_startup(self) -> None:
        if self._started <= 0 or not self._machine.is_alive(self.pid):
            raise refuse("B13", f"process {self.pid} has not called WSAStartup")

    # --- WSAStartup / WSACleanup -------------------------------------------------------

    def _startup(self, version: int, wsadata: int | None) -> int:
        """WSAStartup: the version granted and the WSADATA fields (B15), counted (B13)."""
        major, minor = version & 0xFF, version >> 8 & 0xFF
        if major == 1:
            granted = 1 | min(minor, 1) << 8
        elif major == 2:
            granted = 2 | min(minor, 2) << 8
        else:  # 0 (refused below) and every later major get 2.2
            granted = _WSADATA_VERSION
        if wsadata:
            data = _abi.WSADATA.from_address(wsadata)
            data.wVersion, data.wHighVersion = granted, _WSADATA_VERSION
            data.szDescription, data.szSystemStatus = b"WinSock 2.0", b"Running"
            data.iMaxSockets, data.iMaxUdpDg = (32767, 65467) if major == 1 else (0, 0)
        if major == 0:
            raise refuse("B15", f"version {major}.{minor}")
        if not wsadata:
            raise refuse("B3", "lpWSAData is NULL")
        self._started += 1
        return 0

    def _cleanup(self) -> int:
        self._need_startup()
        self._started -= 1
        if self._started == 0:  # B13: the process's sockets are closed
            handles = set(self._machine.sockets_of(self.pid))
            self.control.abort(self, handles)
            for handle in sorted(handles):
                self._machine.close_socket(self.pid, handle)
        return 0

    # --- sockets ------------------------------------------------------------------------

    def _socket(self, af: int, kind: int, proto: int) -> int:
        self._need_startup()
        if af not in (_AF_UNSPEC, _abi.AF_INET, _abi.AF_INET6):  # Winsock's numbers only at the
            af = -1  # ABI (Linux's AF_INET6, 10, is no Winsock family); the model checks the order
        return self._machine.open_socket(self.pid, af, kind, proto).handle

    def _bind(self, s: int, name: int | None, namelen: int) -> int:
        self._need_startup()
        info = self._machine.socket_info(self.pid, s)
        host, port = _read_sockaddr(name, namelen, info.family)
        self._machine.bind(self.pid, s, host, port)
        return 0

    def _getsockname(self, s: int, name: int | None, namelen_ptr: int | None) -> int:
        self._need_startup()
        family, host, port = self._machine.sockname(self.pid, s)
        if not name or not namelen_ptr:
            raise refuse("B3", "getsockname name or namelen is NULL")
        namelen = ctypes.c_int32.from_address(namelen_ptr)
        namelen.value = _write_sockaddr(name, namelen.value, family, host, port)
        return 0

    def _connect(self, s: int, name: int | None, namelen: int) -> int:
        # The sockaddr is read as bind reads it (B3, W4); the model decides the rest
        # (K1-K6, L3, A1, A13).
        self._need_startup()
        info = self._machine.socket_info(self.pid, s)  # WSAENOTSOCK first (R9b)
        if name and namelen >= 2 and _abi.USHORT.from_address(name).value == _AF_UNSPEC:
            # K7: an AF_UNSPEC address is the all-zero one (Wine's test_connect_udp).
            host, port = ("0.0.0.0" if info.family is Family.INET else "::"), 0
        else:
            host, port = _read_sockaddr(name, namelen, info.family)
        self._machine.connect(self.pid, s, host, port)
        return 0

    def _listen(self, s: int, backlog: int) -> int:
        # The model decides everything (S1-S4, R9b).
        self._need_startup()
        self._machine.listen(self.pid, s, backlog)
        return 0

    def _accept(self, s: int, addr: int | None, addrlen_ptr: int | None) -> int:
        """accept: the socket first (R9b), then the buffer (B3: *addrlen too small for the
        family's sockaddr, before any connection is taken), then the model (S5-S7, S9); the
        client's address goes into addr when both addr and addrlen are given (an addr
        without addrlen is left untouched, B3)."""
        self._need_startup()
        info = self._machine.socket_info(self.pid, s)
        if addr and addrlen_ptr:
            need = ctypes.sizeof(_abi.SOCKADDR_IN if info.family is Family.INET
                                 else _abi.SOCKADDR_IN6)
            if ctypes.c_int32.from_address(addrlen_ptr).value < need:
                raise refuse("B3", f"accept addrlen below {need}")
        new, host, port = self._machine.accept(self.pid, s)
        if addr and addrlen_ptr:
            addrlen = ctypes.c_int32.from_address(addrlen_ptr)
            addrlen.value = _write_sockaddr(addr, addrlen.value, new.family, host, port)
        return new.handle

    def _getpeername(self, s: int, name: int | None, namelen_ptr: int | None) -> int:
        # As getsockname: the model first (R9b, K5), then the buffer (B3).
        self._need_startup()
        family, host, port = self._machine.peername(self.pid, s)
        if not name or not namelen_ptr:
            raise refuse("B3", "getpeername name or namelen is NULL")
        namelen = ctypes.c_int32.from_address(namelen_ptr)
        namelen.value = _write_sockaddr(name, namelen.value, family, host, port)
        return 0

    def _setsockopt(self, s: int, level: int, optname: int, optval: int | None,
                    optlen: int) -> int:
        """setsockopt: the model checks the socket, level and option (R9b, O1, O2, O9) before
        the buffer: a NULL optval is WSAEFAULT (B3); a negative optlen reads 4 bytes for a
        4-byte SOL_SOCKET option and is WSAENOBUFS for the rest (B17); otherwise the first
        bytes, at most 8, go to the model, which reads the option's width of them (O3)."""
        self._need_startup()
        spec = self._machine.option_spec(self.pid, s, level, optname)
        if not optval:
            raise refuse("B3", "optval is NULL")
        if optlen < 0:
            if spec.level != _abi.SOL_SOCKET or spec.width != _BOOL_SIZE:
                raise refuse("B17", f"optlen {optlen}")
            optlen = spec.width
        value = ctypes.string_at(optval, min(optlen, _LONGEST_OPTION))
        self._machine.setsockopt(self.pid, s, level, optname, value)
        return 0

    def _getsockopt(self, s: int, level: int, optname: int, optval: int | None,
                    optlen_ptr: int | None) -> int:
        """getsockopt: the socket, level and option first (R9b, O1, O2, O9), then the buffer
        as Windows treats it for that option (B3, B18)."""
        self._need_startup()
        value = self._machine.getsockopt(self.pid, s, level, optname)
        if not optval or not optlen_ptr:
            raise refuse("B3", "getsockopt optval or optlen is NULL")
        spec = self._machine.option_spec(self.pid, s, level, optname)
        optlen = ctypes.c_int32.from_address(optlen_ptr)
        room = optlen.value
        if room <= 0:
            raise refuse("B18", f"*optlen {room}")
        data = (value & 0xFFFFFFFF).to_bytes(4, "little")
        if room >= spec.width:
            ctypes.memmove(optval, data, spec.width)
            optlen.value = spec.width
            return 0
        if spec.short_get == "bytes":
            ctypes.memmove(optval, data, room)
            optlen.value = 1
            return 0
        if spec.short_get == "byte":
            ctypes.memmove(optval, data, 1)
            optlen.value = 1
            return 0
        if spec.short_get == "fail-zero":
            ctypes.memset(optval, 0, room)
        elif spec.short_get == "fail-reset":
            optlen.value = 0
        raise refuse("B18", f"*optlen {room} < {spec.width} for {spec.label}")

    def _closesocket(self, s: int) -> int:
        self._need_startup()
        self._machine.socket_info(self.pid, s)  # WSAENOTSOCK first (R9b)
        self.control.abort(self, {s})  # B10
        self._machine.close_socket(self.pid, s)
        return 0

    # --- the IOCTLs -------------------------------------------------------------------

    def _wsaioctl(self, *args: Any) -> int:
        return self._ioctl(*args, thread=threading.get_ident())

    def _wspioctl(self, *args: Any) -> int:
        # A failure's code goes to *lpErrno, not WSAGetLastError (B11): _wsp_error.
        *ioctl_args, thread_id, errno_ptr = args
        if not errno_ptr:
            raise refuse("B3", "lpErrno is NULL")
        thread = threading.get_ident()
        if thread_id:  # B11: the provider keeps the WSATHREADID, not the pointer
            thread = _abi.WSATHREADID.from_address(thread_id).ThreadHandle or thread
        return self._ioctl(*ioctl_args, thread=thread)

    def _ioctl(self, s: int, code: int, in_ptr: int | None, in_size: int, out_ptr: int | None,
               out_size: int, bytes_ptr: int | None, overlapped: int | None,
               routine: int | None, *, thread: int) -> int:
        self._need_startup()
        info = self._machine.socket_info(self.pid, s)  # R9b
        if not bytes_ptr:  # B3: before the code is looked at, overlapped or not
            raise refuse("B3", "lpcbBytesReturned is NULL")
        if code not in _IOCTLS:
            return self._unsupported(s, code, bytes_ptr, overlapped, routine, thread)
        if info.protocol is None:
            raise refuse("R9a", f"socket {s:#x} is neither TCP nor UDP")
        if not in_ptr:
            raise refuse("B3", "lpvInBuffer is NULL")
        action: Callable[[], int]
        if code == _abi.SIO_ACQUIRE_PORT_RESERVATION:
            if in_size != _RANGE_SIZE:
                raise refuse("B1", f"cbInBuffer {in_size}, not {_RANGE_SIZE}")
            if not out_ptr:
                raise refuse("B3", "lpvOutBuffer is NULL")
            if out_size < _INSTANCE_SIZE:
                if bytes_ptr:
                    _abi.DWORD.from_address(bytes_ptr).value = 0
                raise refuse("B2", f"cbOutBuffer {out_size} < {_INSTANCE_SIZE}",
                             self.host.variants.get("B2", "WSAEINVAL"))
            request = _abi.INET_PORT_RANGE.from_address(in_ptr)
            start, count = _abi.ntohs(request.StartPort), request.NumberOfPorts  # B4

            def action() -> int:
                res = self._machine.acquire(self.pid, s, start, count)
                out = _abi.INET_PORT_RESERVATION_INSTANCE.from_address(out_ptr)
                out.Reservation.StartPort = _abi.htons(res.range.start)
                out.Reservation.NumberOfPorts = res.range.count
                out.Token.Token = res.token
                return _INSTANCE_SIZE
        elif code == _abi.SIO_CPU_AFFINITY:
            # msquic passes &Processor, sizeof(USHORT), NULL, 0 (datapath_winuser.c; D-R29).
            # Assumed: a shorter input is WSAEFAULT, as WSAIOCTL says when "cbInBuffer is too
            # small"; a longer one is read as its first USHORT; the output buffer is unused.
            if in_size < _PROCESSOR_SIZE:
                raise refuse("B3", f"cbInBuffer {in_size} < {_PROCESSOR_SIZE} (a USHORT)")
            processor = _abi.USHORT.from_address(in_ptr).value

            def action() -> int:
                self._machine.set_cpu_affinity(self.pid, s, processor)  # C19; B8 on TCP
                return 0
        else:
            if in_size < _TOKEN_SIZE:
                raise refuse("B7", f"cbInBuffer {in_size} < {_TOKEN_SIZE}")
            if out_size != 0:  # associate and release alike have no output (B7)
                raise refuse("B7", f"cbOutBuffer {out_size}, not 0")
            token = _abi.INET_PORT_RESERVATION_TOKEN.from_address(in_ptr).Token
            verb = (self._machine.associate if code == _abi.SIO_ASSOCIATE_PORT_RESERVATION
                    else self._machine.release)

            def action() -> int:
                verb(self.pid, s, token)
                return 0  # B6
        if not overlapped:
            count_out = action()
            _abi.DWORD.from_address(bytes_ptr).value = count_out  # B5
            return 0
        op = _Pending(self, s, overlapped, routine or None, thread, action)
        ov = _abi.WSAOVERLAPPED.from_address(overlapped)
        if self.control.pend_overlapped:  # B9
            ov.Internal, ov.InternalHigh = _abi.STATUS_PENDING, 0
            self._signal(ov.hEvent or 0, False, missing_ok=True)
            self.control.queue(op)
            raise refuse("B9", "the operation will complete later")
        count_out = action()
        _abi.DWORD.from_address(bytes_ptr).value = count_out
        self.finish(op, 0, count_out)
        return 0

    def _unsupported(self, s: int, code: int, bytes_ptr: int, overlapped: int | None,
                     routine: int | None, thread: int) -> int:
        """An IOCTL code the provider lacks (B8): *lpcbBytesReturned set to 0; overlapped,
        WSA_IO_PENDING with the bytes untouched and an immediate WSAEOPNOTSUPP completion."""
        if not overlapped:
            _abi.DWORD.from_address(bytes_ptr).value = 0
            raise refuse("B8", f"IOCTL {code:#x}")
        op = _Pending(self, s, overlapped, routine or None, thread, lambda: 0)
        self.finish(op, int(WinError.WSAEOPNOTSUPP), 0)
        raise refuse("B9", f"IOCTL {code:#x} completes with WSAEOPNOTSUPP")

    def finish(self, op: _Pending, code: int, count: int) -> None:
        """Complete an overlapped operation: status, event, completion routine (B9, B10)."""
        ov = _abi.WSAOVERLAPPED.from_address(op.overlapped)
        ov.Internal, ov.InternalHigh = code, count
        self._signal(ov.hEvent or 0, True, missing_ok=True)
        if op.routine:
            self._apcs.setdefault(op.thread, deque()).append((op.routine, code, count,
                                                              op.overlapped))

    # --- events and completion ------------------------------------------------------------

    def _create_event(self) -> int:
        handle = self._next_event
        self._next_event += 4
        self._events[handle] = False
        return handle

    def _close_event(self, handle: int | None) -> int:
        if self._events.pop(handle or 0, None) is None:  # WSA_INVALID_HANDLE (WSACloseEvent page)
            raise winerror(WinError.ERROR_INVALID_HANDLE, f"event {shown(handle)}")
        return 1

    def _signal(self, handle: int | None, state: bool, *, missing_ok: bool = False) -> int:
        if (handle or 0) not in self._events:
            if missing_ok:
                return 0
            raise winerror(WinError.ERROR_INVALID_HANDLE, f"event {shown(handle)}")  # WSA_INVALID_HANDLE
        self._events[handle or 0] = state
        return 1

    def _wait(self, count: int, handles_ptr: int | None, wait_all: int, timeout: int,
              alertable: int) -> int:
        """WSAWaitForMultipleEvents: the count is checked first, as the kernel does,
        before any completion routine runs (WaitForMultipleObjectsEx); then the handles."""
        del timeout  # the emulator never blocks: a wait that would block times out
        if not 1 <= count <= WSA_MAXIMUM_WAIT_EVENTS:  # WSA_INVALID_PARAMETER (87)
            raise winerror(WinError.ERROR_INVALID_PARAMETER,
                           f"cEvents {count} is not 1 to WSA_MAXIMUM_WAIT_EVENTS (64)")
        queued = self._apcs.get(threading.get_ident())
        if alertable and queued:
            while queued:
                routine, code, nbytes, overlapped = queued.popleft()
                _abi.COMPLETION_ROUTINE(routine)(code, nbytes, overlapped, 0)
            return _abi.WSA_WAIT_IO_COMPLETION
        if not handles_ptr:
            raise winerror(WinError.WSAEINVAL, "lphEvents is NULL")
        handles = _read_ptr_array(handles_ptr, count)
        states = [self._events.get(h) for h in handles]
        if any(state is None for state in states):  # WSA_INVALID_HANDLE (6)
            raise winerror(WinError.ERROR_INVALID_HANDLE, "not an event handle")
        if wait_all:
            return _abi.WSA_WAIT_EVENT_0 if all(states) else _abi.WSA_WAIT_TIMEOUT
        for index, state in enumerate(states):
            if state:
                return _abi.WSA_WAIT_EVENT_0 + index
        return _abi.WSA_WAIT_TIMEOUT

    def _overlapped_result(self, s: int, overlapped: int | None, transfer_ptr: int | None,
                           wait: int, flags_ptr: int | None) -> int:
        del wait  # nothing ever blocks here
        if not overlapped or not transfer_ptr or not flags_ptr:
            raise refuse("B3", "WSAGetOverlappedResult pointer is NULL")
        ov = _abi.WSAOVERLAPPED.from_address(overlapped)
        status = ov.Internal or 0
        if status == _abi.STATUS_PENDING:
            raise winerror(WinError.WSA_IO_INCOMPLETE, f"socket {s:#x}")
        _abi.DWORD.from_address(transfer_ptr).value = ov.InternalHigh or 0
        _abi.DWORD.from_address(flags_ptr).value = 0
        if status:
            raise winerror(status, "the overlapped operation failed")
        return 1


class EmulatedIphlpapi:
    """``iphlpapi``-shaped persistent-reservation functions of one emulated process."""

    # The exports, made in __init__ (see EmulatedWs2_32).
    CreatePersistentTcpPortReservation: _CFunction
    CreatePersistentUdpPortReservation: _CFunction
    LookupPersistentTcpPortReservation: _CFunction
    LookupPersistentUdpPortReservation: _CFunction
    DeletePersistentTcpPortReservation: _CFunction
    DeletePersistentUdpPortReservation: _CFunction

    def __init__(self, host: MachineHost, pid: int, control: CallControl) -> None:
        self.host, self.pid, self.control = host, pid, control
        self.details = _Details()
        machine = host.machine
        for verb in ("Create", "Lookup", "Delete"):
            for protocol in Protocol:
                name = f"{verb}Persistent{protocol.name.title()}PortReservation"
                impl = self._make(verb, protocol, machine)
                setattr(self, name, _export(self, name, impl, _return_code))

    def __repr__(self) -> str:
        return f"<emulated iphlpapi of process {self.pid}>"

    def _make(self, verb: str, protocol: Protocol, machine: Any) -> Callable[..., int]:
        def create_or_lookup(start: int, count: int, token_ptr: int | None) -> int:
            if not token_ptr:
                raise winerror(WinError.ERROR_INVALID_PARAMETER, "Token is NULL")
            op = machine.create_persistent if verb == "Create" else machine.lookup_persistent
            token = op(self.pid, protocol, _abi.ntohs(start), count)  # B12
            _abi.ULONG64.from_address(token_ptr).value = token
            return 0

        def delete(start: int, count: int) -> int:
            machine.delete_persistent(self.pid, protocol, _abi.ntohs(start), count)
            return 0

        return delete if verb == "Delete" else create_or_lookup


class EmulatedDlls:
    """The pair ``(ws2_32, iphlpapi)`` of one emulated process; unpacks as a pair.

    Attributes:
        ws2_32, iphlpapi: the DLL-shaped objects.
        host: the machine.  pid: the process.  control: the host's :class:`CallControl`.
    """

    def __init__(self, host: MachineHost, pid: int, control: CallControl) -> None:
        self.host, self.pid, self.control = host, pid, control
        self.ws2_32 = EmulatedWs2_32(host, pid, control)
        self.iphlpapi = EmulatedIphlpapi(host, pid, control)

    def __iter__(self) -> Iterator[Any]:  # Any: an iterator cannot type each position
        return iter((self.ws2_32, self.iphlpapi))

    def exit(self) -> None:
        """End the process (R4); its pending overlapped operations are aborted (B10)."""
        with self.host.lock:
            if self.host.machine.is_alive(self.pid):
                self.control.abort(self.ws2_32, set(self.host.machine.sockets_of(self.pid)))
                self.host.machine.exit_process(self.pid)


def _return_code(exc: PortPoolError, args: tuple[Any, ...]) -> int:
    """IP Helper (and WSAStartup) return the code itself (B12)."""
    del args
    return exc.winerror


def _wsp_error(exc: PortPoolError, args: tuple[Any, ...]) -> int:
    """WSPIoctl reports its code through ``*lpErrno`` (B11), injected faults included."""
    errno_ptr = args[-1] if args else None
    if errno_ptr:
        ctypes.c_int32.from_address(errno_ptr).value = exc.winerror
    return _abi.SOCKET_ERROR


def _read_sockaddr(name: int | None, namelen: int, family: Family) -> tuple[str, int]:
    if not name or namelen < 2:
        raise refuse("B3", "the sockaddr is NULL or shorter than its family")
    wire_family = _abi.USHORT.from_address(name).value
    if wire_family not in (_abi.AF_INET, _abi.AF_INET6):
        raise refuse("W14", f"sockaddr family {wire_family}")
    if wire_family != int(family):
        raise refuse("W4", f"sockaddr family {wire_family} on an {family.name} socket")
    if family is Family.INET:
        if namelen < ctypes.sizeof(_abi.SOCKADDR_IN):
            raise refuse("B3", f"namelen {namelen} is too small")
        sin = _abi.SOCKADDR_IN.from_address(name)
        return str(ipaddress.IPv4Address(bytes(sin.sin_addr))), _abi.ntohs(sin.sin_port)
    if namelen < ctypes.sizeof(_abi.SOCKADDR_IN6):
        raise refuse("B3", f"namelen {namelen} is too small")
    sin6 = _abi.SOCKADDR_IN6.from_address(name)
    return address_text(ipaddress.IPv6Address(bytes(sin6.sin6_addr))), _abi.ntohs(sin6.sin6_port)


def _write_sockaddr(name: int, size: int, family: Family, host: str, port: int) -> int:
    if family is Family.INET:
        need = ctypes.sizeof(_abi.SOCKADDR_IN)
        if size < need:
            raise refuse("B3", f"namelen {size} < {need}")
        sin = _abi.SOCKADDR_IN.from_address(name)
        sin.sin_family, sin.sin_port = int(family), _abi.htons(port)
        sin.sin_addr[:] = list(ipaddress.IPv4Address(host or "0.0.0.0").packed)
        return need
    need = ctypes.sizeof(_abi.SOCKADDR_IN6)
    if size < need:
        raise refuse("B3", f"namelen {size} < {need}")
    sin6 = _abi.SOCKADDR_IN6.from_address(name)
    sin6.sin6_family, sin6.sin6_port = int(family), _abi.htons(port)
    sin6.sin6_flowinfo, sin6.sin6_scope_id = 0, 0
    sin6.sin6_addr[:] = list(ipaddress.IPv6Address(host.split("%", maxsplit=1)[0] or "::").packed)
    return need
