"""Operations on the DLL surface: the ws2_32 and iphlpapi function pointers with real
buffers behind canaries, NULL pointers, short and lying sizes, host-order ports, handles
of every owner, persistent reservations (the IOCTLs are in :mod:`._ioctl_ops`, events and
waits in :mod:`._event_ops`).
"""

from __future__ import annotations

import ctypes
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..._types import Protocol
from ..._winsock import _abi
from ._callers import _DProc
from ._sources import Source
from ._values import PERSIST

if TYPE_CHECKING:
    from ._world import World


_CANARY: Final = 32
_CANARY_BYTE: Final = 0xA5
_SIN: Final = ctypes.sizeof(_abi.SOCKADDR_IN)
_SIN6: Final = ctypes.sizeof(_abi.SOCKADDR_IN6)
_WSADATA: Final = ctypes.sizeof(_abi.WSADATA)


def _buffer(size: int) -> Any:
    """``size`` bytes followed by a canary, all set to the canary byte."""
    buf = (ctypes.c_ubyte * (size + _CANARY))()
    ctypes.memset(buf, _CANARY_BYTE, size + _CANARY)
    return buf


def _canary_broken(buf: Any, allowed: int) -> bool:
    data = bytes(buf)
    return data[allowed:] != bytes([_CANARY_BYTE]) * (len(data) - allowed)


def _addr(obj: Any) -> int:
    return ctypes.addressof(obj)


def _winsock_failure(w: World, proc: _DProc, failure_value: int) -> Callable[[Any], int | None]:
    def read(result: Any) -> int | None:
        if (result or 0) != failure_value:
            return None
        return int(proc.ws2.WSAGetLastError())

    del w
    return read


def _direct_failure(result: Any) -> int | None:
    return int(result) or None


def _d_new_process(w: World, admin: object) -> _DProc | None:
    ok, dlls = w.call("dll.process", (admin,), lambda: w.host.dlls(admin=admin))  # type: ignore[arg-type]
    if not isinstance(admin, bool) and ok:
        w.violate("postcondition", "dll.process", f"admin={admin!r} (not a bool) was accepted")
    if not ok or dlls is None:
        return None
    proc = _DProc(dlls, int(dlls.pid), bool(admin))
    w.ledger.pids.add(proc.pid)
    w.dprocs.append(proc)
    return proc


def _pick_dproc(w: World, src: Source, *, admin_share: int = 0) -> _DProc | None:
    """Mostly a live, started DLL process (one is started if there are fewer than two),
    sometimes an ended or cleaned-up one."""
    live = [p for p in w.dprocs if not p.exited and p.started > 0]
    if len(live) < 2:
        _d_process(w, src)
        live = [p for p in w.dprocs if not p.exited and p.started > 0]
    if admin_share and src.chance(admin_share):
        admins = [p for p in live if p.admin]
        if admins:
            return src.choice(admins)
    if live and not src.chance(6):
        return src.choice(live)
    return src.choice(w.dprocs) if w.dprocs else None


def _d_process(w: World, src: Source) -> None:
    """A new process's DLL pair, then WSAStartup; or an exit when there are enough."""
    running = [p for p in w.dprocs if not p.exited]
    if len(running) >= 6:
        _d_exit_proc(w, src.choice(running))
        return
    admin = src.choice((False, True)) if src.chance(95) else src.choice(("no", None, 1))
    proc = _d_new_process(w, admin)
    if proc is not None:
        _d_startup(w, src, proc=proc, ordinary=True)


def _d_exit(w: World, src: Source) -> None:
    """``EmulatedDlls.exit()``."""
    proc = _pick_dproc(w, src)
    if proc is not None:
        _d_exit_proc(w, proc)


def _d_exit_proc(w: World, proc: _DProc) -> None:
    ok, _ = w.call("dll.exit", (proc.pid,), proc.dlls.exit, compare="none")
    if ok:
        proc.exited = True
        w._forget_process(proc.pid)


def _d_startup(w: World, src: Source, *, proc: _DProc | None = None, ordinary: bool = False) -> None:
    """WSAStartup with odd versions and a NULL WSADATA sometimes."""
    proc = proc or _pick_dproc(w, src)
    if proc is None:
        return
    version = 0x0202 if ordinary or src.chance(70) else src.choice((0x0101, 0, 0xFFFF, 0x0002, 0x0303))
    data = _buffer(_WSADATA)
    pointer = None if not ordinary and src.chance(8) else _addr(data)
    ok, _, _ = w.dll_call("dll.WSAStartup", proc, "WSAStartup", (version, pointer), _direct_failure)
    if ok:
        proc.started += 1
    if pointer and _canary_broken(data, _WSADATA):
        w.violate("canary", "dll.WSAStartup", "WSAStartup wrote past the WSADATA")


def _d_cleanup(w: World, src: Source) -> None:
    """WSACleanup: the last one closes the process's sockets (B13)."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    ok, _, _ = w.dll_call("dll.WSACleanup", proc, "WSACleanup", (),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if ok:
        proc.started -= 1
        if proc.started == 0:
            w._forget_process(proc.pid)


def _dll_handle(w: World, src: Source, proc: _DProc, *, bound: bool | None = None) -> int:
    """A SOCKET argument: mostly the caller's own (bound or not, if asked), sometimes a
    closed one, another process's, an event handle or a made-up value."""
    if not proc.sockets and src.chance(80):
        _d_socket(w, src, proc=proc)
    r = src.integer(1, 100)
    if r <= 85 and proc.sockets:
        own = sorted(proc.sockets)
        if bound is not None and src.chance(80):
            with w.ledger.lock:
                fitting = [h for h in own if ((proc.pid, h) in w.ledger.bound) == bound]
            own = fitting or own
        return src.choice(own)
    if r <= 90 and proc.closed:
        return src.choice(proc.closed)
    if r <= 95:
        others = [h for p in w.dprocs if p is not proc for h in p.sockets]
        others += [s.handle for s in w.live_socks()]
        if others:
            return src.choice(sorted(others))
    if r <= 97 and proc.events:
        return src.choice(proc.events)
    return int(src.choice((0, _abi.INVALID_SOCKET, 0x7777, 2**63, 4, 0x100)))


def _d_socket(w: World, src: Source, *, proc: _DProc | None = None) -> None:
    """socket() with C-int values of every kind."""
    if w.socket_count() >= w.options.max_sockets:
        _d_closesocket(w, src)
        return
    proc = proc or _pick_dproc(w, src)
    if proc is None:
        _d_process(w, src)
        return
    if src.chance(80):
        af, kind = src.choice((2, 23, 2)), src.choice((1, 2, 1, 2, 1, 2, 1, 2, 3))
        proto = src.choice((0, 0, {1: 6, 2: 17, 3: 255}[kind], 6, 17))
    else:
        af = src.choice((2, 23, 0, 1, 10, -1, 2**31 - 1, -(2**31), 0xFFFF))
        kind = src.choice((1, 2, 3, 0, 4, 5, -1, 2**31 - 1))
        proto = src.choice((0, 6, 17, 1, 255, 256, -1, 2**31 - 1))
    ok, handle, _ = w.dll_call("dll.socket", proc, "socket", (af, kind, proto),
                               _winsock_failure(w, proc, _abi.INVALID_SOCKET))
    if not ok:
        return
    if kind == 0:  # W13: type 0 takes the protocol's type (0: TCP's; others: SOCK_RAW)
        kind = {0: 1, 6: 1, 17: 2}.get(proto, 3)
    protocol = {1: Protocol.TCP, 2: Protocol.UDP}.get(kind)
    proc.sockets[int(handle)] = protocol
    proc.families[int(handle)] = af or 2  # W13: AF_UNSPEC makes an AF_INET socket
    if not w.ledger.add_socket(proc.pid, int(handle)):
        w.violate("postcondition", "dll.socket", f"handle {handle:#x} given out twice")


def _d_bind(w: World, src: Source) -> None:
    """bind() with sockaddrs of every family field, length and byte order."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc, bound=False)
    v6 = proc.families.get(handle, 2) == 23 if src.chance(90) else src.chance(50)
    buf = _buffer(_SIN6)
    family = (23 if v6 else 2) if src.chance(85) else src.choice((2, 23, 0, 10, 1, 0xFFFF))
    port = w.ushort(w.port())
    wire = port if src.chance(10) else _abi.htons(port)  # a forgotten htons
    if v6:
        sin6 = _abi.SOCKADDR_IN6.from_buffer(buf)
        sin6.sin6_family, sin6.sin6_port = family, wire
        sin6.sin6_addr[:] = list(ipaddress.IPv6Address(src.choice(("::", "::1", "fe80::1"))).packed)
        natural = _SIN6
    else:
        sin = _abi.SOCKADDR_IN.from_buffer(buf)
        sin.sin_family, sin.sin_port = family, wire
        sin.sin_addr[:] = list(ipaddress.IPv4Address(
            src.choice(("0.0.0.0", "127.0.0.1", "10.1.2.3", "255.255.255.255"))).packed)
        natural = _SIN
    namelen = natural if src.chance(85) else src.choice((0, 1, 2, 15, 16, 17, 27, 28, 100, -1,
                                                          2**31 - 1))
    pointer = None if src.chance(4) else _addr(buf)
    ok, _, _ = w.dll_call("dll.bind", proc, "bind", (handle, pointer, namelen),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    protocol = proc.sockets.get(handle)
    if ok and protocol is not None:
        with w.ledger.lock:
            if (proc.pid, handle) in w.ledger.bound:
                w.violate("postcondition", "dll.bind", "a socket was bound twice")
            w.ledger.bound.add((proc.pid, handle))
        w.check_listed("dll.bind", protocol, proc.pid, handle)
    elif ok and handle not in proc.sockets:
        w.violate("postcondition", "dll.bind", f"bind succeeded on {handle:#x}, not a live"
                  " socket of the caller")


def _d_getsockname(w: World, src: Source) -> None:
    """getsockname() with NULL and short buffers."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc, bound=True)
    buf = _buffer(_SIN6)
    size = src.choice((_SIN6, _SIN6, _SIN, _SIN - 1, 0, -1, _SIN6 - 1, 2**31 - 1))
    namelen = ctypes.c_int32(size)
    name_ptr = None if src.chance(4) else _addr(buf)
    len_ptr = None if src.chance(4) else _addr(namelen)
    ok, _, _ = w.dll_call("dll.getsockname", proc, "getsockname", (handle, name_ptr, len_ptr),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if name_ptr and _canary_broken(buf, min(max(size, 0), _SIN6)):
        w.violate("canary", "dll.getsockname", f"wrote past namelen {size}")
    if ok:
        family = _abi.USHORT.from_buffer(buf).value
        if namelen.value not in (_SIN, _SIN6) or family not in (2, 23):
            w.violate("postcondition", "dll.getsockname", f"namelen {namelen.value}, family {family}")


def _d_closesocket(w: World, src: Source) -> None:
    """closesocket() of own, closed, foreign and bogus handles."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc)
    ok, _, _ = w.dll_call("dll.closesocket", proc, "closesocket", (handle,),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if ok:
        if handle not in proc.sockets:
            w.violate("postcondition", "dll.closesocket", f"closed {handle:#x}, not a live socket"
                      " of the caller")
        w._forget_dll_socket(proc, handle)


def _d_persistent(w: World, src: Source, *, function: str | None = None) -> None:
    """The six iphlpapi functions, with host-order ports and NULL tokens sometimes."""
    proc = _pick_dproc(w, src, admin_share=70)
    if proc is None:
        return
    if function is None:
        function = (f"{src.choice(('Create', 'Lookup', 'Delete'))}Persistent"
                    f"{src.choice(('Tcp', 'Udp'))}PortReservation")
    verb = function[:6]
    held = w.existing_block()
    if held is not None and held[0] == (Protocol.TCP if "Tcp" in function else Protocol.UDP):
        start, count = held[1], held[2]
    else:
        start, count = w.ushort(w.port(PERSIST)), w.ushort(w.count())
    wire = start if src.chance(8) else _abi.htons(start)
    token = _abi.ULONG64(0)
    args: tuple[Any, ...] = (wire, count)
    if verb != "Delete":
        args += (None if src.chance(4) else _addr(token),)
    op = f"dll.{verb.lower()}_persistent"
    ok, _, _ = w.dll_call(op, proc, function, args, _direct_failure)
    if not ok:
        return
    key = (int(Protocol.TCP if "Tcp" in function else Protocol.UDP), _abi.ntohs(wire), count)
    if verb == "Create":
        if not token.value:
            w.violate("postcondition", op, "succeeded and wrote no token")
        w.persistent_changed(key, +1, op)
    elif verb == "Delete":
        w.persistent_changed(key, -1, op)
    else:
        w.check_lookup(op, key, int(token.value))
