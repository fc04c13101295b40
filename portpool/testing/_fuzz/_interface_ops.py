"""Operations through the interface: :class:`~portpool.PortPool` and
:class:`~portpool.Socket` of emulated processes and of the ctypes backend over the
emulated DLLs, each drawing hostile arguments and checking what a success promises.
"""

from __future__ import annotations

import socket as _pysocket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..._errors import PortPoolError
from ..._interface import PortPool
from ..._registry import load_backend
from ..._types import IPPROTO_IPV6, IPV6_V6ONLY, SO_EXCLUSIVEADDRUSE, SO_REUSEADDR, SOL_SOCKET, Family
from ._callers import _Proc, _Sock
from ._sources import Source

if TYPE_CHECKING:
    from ._world import World


def _pick_proc(w: World, src: Source, *, admin_share: int = 0) -> _Proc | None:
    """Mostly a live process (one is started if none is), sometimes an ended one."""
    live = w.live_procs()
    if len(live) < 2:
        _i_process(w, src)
        live = w.live_procs()
    if admin_share and src.chance(admin_share):
        admins = [p for p in live if p.admin]
        if admins:
            return src.choice(admins)
    if live and not src.chance(8):
        return src.choice(live)
    return src.choice(w.procs) if w.procs else None


def _pick_sock(w: World, src: Source) -> _Sock | None:
    """Mostly a live socket (``None`` if there is none: the caller makes one), sometimes a
    closed one or one of an ended process."""
    live = w.live_socks()
    if live and src.chance(10):
        return src.choice([s for p in w.procs for s in p.sockets])
    return src.choice(live) if live else None


def _i_process(w: World, src: Source, *, admin: object = None,
               ctypes_pool: bool | None = None) -> None:
    """A new process: ``host.process(admin=)`` or a WindowsPool over ``host.dlls(admin=)``."""
    if len(w.live_procs()) >= 8:
        _i_exit(w, src)
        return
    if admin is None:
        admin = src.choice((False, True)) if src.chance(92) else src.choice(
            ("no", "", 0, 1, None, [], "yes", 0.0))
    if ctypes_pool is None:
        ctypes_pool = src.chance(40)
    op = "interface.process"
    flag: Any = admin  # deliberately anything
    pool: PortPool | None
    if not ctypes_pool:
        ok, pool = w.call(op, ("emulated", admin), lambda: w.host.process(admin=flag))
        dlls: Any = None
    else:
        ok, dlls = w.call(op, ("dlls", admin), lambda: w.host.dlls(admin=flag))
        if ok and dlls is not None:
            windows_pool = load_backend("windows")
            w.ledger.pids.add(int(dlls.pid))
            ok, pool = w.call("interface.WindowsPool", (dlls,), lambda: windows_pool(dlls=dlls))
    if not isinstance(admin, bool) and (ok or dlls is not None):
        w.violate("postcondition", op, f"admin={admin!r} (not a bool) was accepted")
    if not ok or pool is None:
        return
    pid = int(dlls.pid) if dlls is not None else int(getattr(pool, "pid"))  # noqa: B009 - PortPool has no pid
    w.ledger.pids.add(pid)
    w.procs.append(_Proc(pool, pid, bool(admin), dlls))


def _i_exit(w: World, src: Source) -> None:
    """A process ends: ``exit()`` of an emulated one, ``close()`` (WSACleanup) of a pool."""
    proc = _pick_proc(w, src)
    if proc is None:
        return
    ok, _ = w.call("interface.exit", (proc.label,), proc.pool.close, compare="none")
    if not ok:
        return
    proc.closed = True
    machine = w.host.machine
    remaining = set(machine.sockets_of(proc.pid)) if machine.is_alive(proc.pid) else set()
    for entry in proc.sockets:  # a pool whose WSACleanup failed keeps its sockets open
        if entry.handle not in remaining:
            w._forget_socket(entry)


def _i_socket(w: World, src: Source) -> None:
    """``socket(family, type, proto)``, valid mostly, hostile sometimes."""
    if w.socket_count() >= w.options.max_sockets:
        _i_close(w, src)
        return
    proc = _pick_proc(w, src)
    if proc is None:
        _i_process(w, src)
        return
    if src.chance(75):
        family: object = src.choice((2, 23, 2, int(_pysocket.AF_INET6)))
        kind: object = src.choice((1, 2, 1, 2, 3))
        proto: object = src.choice((0, 0, {1: 6, 2: 17, 3: 255}[kind], 6, 17, 1))  # type: ignore[index]
    else:
        family = src.choice((2, 23, 0, 1, -1, 2**31, 2**32 + 2)) if src.chance(50) else w.hostile_int()
        kind = src.choice((1, 2, 0, 4, 5, 2**32 + 1)) if src.chance(50) else w.hostile_int()
        proto = src.choice((0, 6, 17, 255, 256, -1, 2**32 + 6)) if src.chance(50) else w.hostile_int()
    ok, sock = w.call("interface.socket", (proc.label, family, kind, proto),
                      lambda: proc.pool.socket(family, kind, proto))  # type: ignore[arg-type]
    if not ok or sock is None:
        return
    problems = []
    # Type 0 takes the protocol's type, as Windows does (W13): TCP's and 0's is 1, UDP's 2,
    # any other's SOCK_RAW.
    expected = kind if kind != 0 else {0: 1, 6: 1, 17: 2}.get(proto, 3)  # type: ignore[call-overload]
    if type(kind) is not int or sock.type != expected:
        problems.append(f"type {kind!r} accepted, the socket says {sock.type!r}")
    if not isinstance(proto, int) or isinstance(proto, bool):
        problems.append(f"proto {proto!r} accepted")
    if problems:
        w.violate("postcondition", "interface.socket", "; ".join(problems))
    w._register_socket(proc, sock, "interface.socket")


def _i_acquire(w: World, src: Source) -> None:
    """SIO_ACQUIRE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    start, count = w.port(), w.count()
    ok, res = w.call("interface.acquire", (entry, start, count),
                     lambda: entry.sock.acquire_port_reservation(start, count),  # type: ignore[arg-type]
                     sock=entry)
    if not ok or res is None:
        return
    problems = []
    if type(count) is not int or res.range.count != count:
        problems.append(f"asked {count!r} ports, granted {res.range!r}")
    if type(start) is not int or (start and res.range.start != start):
        problems.append(f"asked start {start!r}, granted {res.range!r}")
    if res.protocol is not entry.protocol or res.persistent:
        problems.append(f"granted {res!r} on a {entry.protocol} socket")
    if entry.closed:
        problems.append("granted on a closed socket")
    if problems:
        w.violate("postcondition", "interface.acquire", "; ".join(problems))
    w._granted(entry.proc.pid, entry.handle, res, "interface.acquire")


def _i_associate(w: World, src: Source) -> None:
    """SIO_ASSOCIATE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    token = w.token(entry.proc.pid)
    w.call("interface.associate", (entry, token),
           lambda: entry.sock.associate_port_reservation(token), sock=entry)  # type: ignore[arg-type]


def _i_release(w: World, src: Source) -> None:
    """SIO_RELEASE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    token = w.token(entry.proc.pid)
    ok, _ = w.call("interface.release", (entry, token),
                   lambda: entry.sock.release_port_reservation(token), sock=entry)  # type: ignore[arg-type]
    if ok:
        w._released(entry.proc.pid, token, "interface.release")  # type: ignore[arg-type]


def _i_bind(w: World, src: Source) -> None:
    """bind() with addresses of every shape."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    address = w.address(entry.family)
    ok, _ = w.call("interface.bind", (entry, address), lambda: entry.sock.bind(address),  # type: ignore[arg-type]
                   sock=entry)
    if not ok:
        return
    if entry.closed:
        w.violate("postcondition", "interface.bind", "a closed socket was bound")
    if entry.protocol is not None:
        with w.ledger.lock:
            if (entry.proc.pid, entry.handle) in w.ledger.bound:
                w.violate("postcondition", "interface.bind", "a socket was bound twice")
            w.ledger.bound.add((entry.proc.pid, entry.handle))
        w.check_listed("interface.bind", entry.protocol, entry.proc.pid, entry.handle)
    port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
    if isinstance(port, int) and port and entry.protocol is not None:
        _check_sockname(w, entry, port)
        w.held.append(port)
    elif port == 0 and entry.protocol is not None:  # the port Windows' counter handed out (A4)
        ok, name = w.call("interface.getsockname", (entry,), entry.sock.getsockname, sock=entry)
        if ok and isinstance(name, tuple) and isinstance(name[1], int):
            w.held.append(name[1])



def _check_sockname(w: World, entry: _Sock, port: int) -> None:
    ok, name = w.call("interface.getsockname", (entry,), entry.sock.getsockname, sock=entry)
    if not ok and "injected fault" in str(w.last_error):
        return  # a fault fail_next_hostile (or another thread) left queued hit this call
    w.stats.checks["getsockname after bind"] += 1
    if not ok or name is None or name[1] != port:
        w.violate("postcondition", "interface.bind", f"bound to {port}, getsockname says {name!r}"
                  + ("" if ok else f" ({w.last_error})"))


# setsockopt values: the options that change binding, two others Windows has (SO_LINGER,
# TCP_NODELAY), one it lacks, a bad level, and hostile values (O1-O7).
_BOOLS: Final[tuple[tuple[int, int], ...]] = ((SOL_SOCKET, SO_REUSEADDR), (SOL_SOCKET, SO_EXCLUSIVEADDRUSE),
                                            (IPPROTO_IPV6, IPV6_V6ONLY))
_OPTIONS: Final[tuple[tuple[int, int], ...]] = (*_BOOLS, (SOL_SOCKET, 0x80), (SOL_SOCKET, 0x4321),
                                              (12345, 4), (6, 1))


def _option_value(src: Source) -> object:
    return src.choice((0, 1, 1, 7, -1, b"\x01", b"\x01\x00\x00\x00", b"", 2**40, "1", None, 1.0))


def _i_setsockopt(w: World, src: Source) -> None:
    """setsockopt() with known options, bad levels, short and hostile values."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    level, option = src.choice(_OPTIONS)
    value = _option_value(src)
    w.call("interface.setsockopt", (entry, level, option, value),
           lambda: entry.sock.setsockopt(level, option, value), sock=entry)  # type: ignore[arg-type]


def _i_getsockopt(w: World, src: Source) -> None:
    """getsockopt(): an option that changes binding reads 0 or 1 (O7)."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    level, option = src.choice(_OPTIONS)
    ok, value = w.call("interface.getsockopt", (entry, level, option),
                       lambda: entry.sock.getsockopt(level, option), sock=entry)
    if ok and (level, option) in _BOOLS and value not in (0, 1):
        w.violate("postcondition", "interface.getsockopt", f"a BOOL option read {value!r}")


def _i_connect(w: World, src: Source) -> None:
    """connect(): an implicit bind (K1, K2) and the peer (K3-K6)."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    address = w.address(entry.family)
    was_bound = (entry.proc.pid, entry.handle) in w.ledger.bound
    ok, _ = w.call("interface.connect", (entry, address), lambda: entry.sock.connect(address),  # type: ignore[arg-type]
                   sock=entry)
    if not ok or entry.protocol is None or was_bound:
        return
    if entry.closed:
        w.violate("postcondition", "interface.connect", "a closed socket was connected")
        return
    try:  # K7: a UDP connect to the all-zero address disconnects without binding
        if w.host.machine.socket_info(entry.proc.pid, entry.handle).port is None:
            return
    except PortPoolError:
        return  # the socket is gone (another thread closed it, or its process ended)
    with w.ledger.lock:
        w.ledger.bound.add((entry.proc.pid, entry.handle))
    w.check_listed("interface.connect", entry.protocol, entry.proc.pid, entry.handle)


def _i_getpeername(w: World, src: Source) -> None:
    """getpeername()."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    w.call("interface.getpeername", (entry,), entry.sock.getpeername, sock=entry)


def _i_cpu_affinity(w: World, src: Source) -> None:
    """SIO_CPU_AFFINITY through the interface (C19, B8)."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    processor = src.choice((0, 1, 3, 63, -1, 70000, "0"))
    w.call("interface.set_cpu_affinity", (entry, processor),
           lambda: entry.sock.set_cpu_affinity(processor), sock=entry)  # type: ignore[arg-type]


def _i_getsockname(w: World, src: Source) -> None:
    """getsockname()."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    ok, name = w.call("interface.getsockname", (entry,), entry.sock.getsockname, sock=entry)
    if ok and name is not None:
        want = 2 if entry.family == int(Family.INET) else 4
        if (not isinstance(name, tuple) or len(name) != want or not isinstance(name[0], str)
                or not isinstance(name[1], int)):
            w.violate("postcondition", "interface.getsockname", f"returned {name!r}")


def _i_close(w: World, src: Source) -> None:
    """close() (twice sometimes: it is idempotent)."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    ok, _ = w.call("interface.close", (entry,), entry.sock.close, sock=entry)
    if ok and not entry.closed:
        w._forget_socket(entry)


def _persistent_op(verb: str) -> Callable[[World, Source], None]:
    def run(w: World, src: Source) -> None:
        proc = _pick_proc(w, src, admin_share=70)
        if proc is None:
            _i_process(w, src)
            return
        protocol, start, count = w.persistent_block()
        method = getattr(proc.pool, f"{verb}_persistent_reservation")
        op = f"interface.{verb}_persistent"
        ok, result = w.call(op, (proc.label, protocol, start, count),
                            lambda: method(protocol, start, count))
        if not ok:
            return
        if not (isinstance(start, int) and isinstance(count, int)
                and isinstance(protocol, int) and int(protocol) in (6, 17)):
            w.violate("postcondition", op, f"accepted {protocol!r}, {start!r}, {count!r}")
            return
        key = (int(protocol), start, count)
        if verb == "create":
            if not result:
                w.violate("postcondition", op, f"token {result!r}")
            w.persistent_changed(key, +1, op)
        elif verb == "delete":
            w.persistent_changed(key, -1, op)
        else:
            w.check_lookup(op, key, result)

    return run
