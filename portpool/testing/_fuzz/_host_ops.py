"""Operations on the host itself: introspection, ``reboot()`` (persistent blocks stay, with
new tokens), system exclusions, ``netsh`` command lines (damaged ones too), and the
constructor with hostile options; and :func:`start_callers`, the first callers of a
fresh or rebooted machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._host import EmulatedHost
from ..._types import Family, PortRange, Protocol
from ._dll_ops import _d_new_process, _d_startup
from ._interface_ops import _i_process
from ._ledger import PersistentKey
from ._sources import Source
from ._values import EXCLUDE, PERSIST

if TYPE_CHECKING:
    from ._world import World


def start_callers(w: World) -> None:
    """Start a machine's first callers: two emulated processes (one elevated), a ctypes
    pool, two DLL processes (one elevated) after WSAStartup."""
    for admin in (False, True):
        _i_process(w, w.src, admin=admin, ctypes_pool=False)
    _i_process(w, w.src, admin=True, ctypes_pool=True)
    for admin in (False, True):
        proc = _d_new_process(w, admin)
        if proc is not None:
            _d_startup(w, w.src, proc=proc, ordinary=True)


def _h_introspect(w: World, src: Source) -> None:
    """reservations/bindings/dynamic_range/explain/exclusions with any argument."""
    name = src.choice(("reservations", "bindings", "dynamic_range", "explain", "exclusions",
                       "snapshot"))
    if not hasattr(w.host, name):
        return
    method = getattr(w.host, name)
    protocol = w.protocol()
    if name == "snapshot":
        w.call("host.snapshot", (), lambda: hash(w.host.snapshot()))
    elif name == "explain":
        port = w.port()
        w.call("host.explain", (protocol, port), lambda: method(protocol, port))
    elif name == "dynamic_range" and src.chance(50):
        family = src.choice((Family.INET, Family.INET6, 2, 23, 10, 0, None, "inet"))
        w.call("host.dynamic_range", (protocol, family), lambda: method(protocol, family))
    else:
        w.call(f"host.{name}", (protocol,), lambda: method(protocol))


def _h_reboot(w: World, src: Source) -> None:
    """reboot(): persistent blocks stay with new tokens; everything else goes."""
    del src
    w.poll()
    before = {(int(p), r.range.start, r.range.count): r.token for p in Protocol
              for r in w.host.reservations(p) if r.persistent}
    with w.ledger.lock:
        active = set(w.ledger.active)
    ok, _ = w.call("host.reboot", (), w.host.reboot)
    if not ok:
        return
    w.stats.checks["reboot"] += 1
    after = {(int(p), r.range.start, r.range.count): r.token for p in Protocol
             for r in w.host.reservations(p) if r.persistent}
    if set(after) != set(before) - active:
        w.violate("reboot", "host.reboot", f"persistent blocks before {sorted(before)} (active"
                  f" {sorted(active)}), after {sorted(after)}")
    reused = set(after.values()) & set(before.values())
    if reused:
        w.violate("reboot", "host.reboot", f"tokens kept across the reboot: {sorted(reused)[:3]}")
    if any(not r.persistent for p in Protocol for r in w.host.reservations(p)) or any(
            w.host.bindings(p) for p in Protocol):
        w.violate("reboot", "host.reboot", "runtime blocks or bindings survived the reboot")
    if any(w.host.machine.is_alive(pid) for pid in w.ledger.pids):
        w.violate("reboot", "host.reboot", "a process survived the reboot")
    w.ledger.reboot()
    for proc in w.procs:
        proc.closed = True
        for entry in proc.sockets:
            entry.closed = True
    for dproc in w.dprocs:
        dproc.exited = True
        dproc.closed.extend(dproc.sockets)
        dproc.sockets.clear()
    # w.pending stays: those operations fail at completion (their process is gone), and
    # the emulator still writes their OVERLAPPED then, so the buffers must live on.
    start_callers(w)


def _h_exclude(w: World, src: Source) -> None:
    """``host.exclude(protocol, start, count, owner=)``: a system component's block."""
    protocol, start, count = w.protocol(), w.port(EXCLUDE), w.count()
    owner = src.choice(("WinNAT", "HTTP.sys", "HNS")) if src.chance(90) else src.choice(
        ("", None, 5, b"WinNAT", "x" * 1000))
    w.call("host.exclude", (protocol, start, count, owner),
           lambda: w.host.exclude(protocol, start, count, owner=owner))  # type: ignore[arg-type]


def _h_release_exclusions(w: World, src: Source) -> None:
    """``host.release_exclusions(owner)`` (``net stop winnat``)."""
    owner = src.choice(("WinNAT", "HTTP.sys", "HNS", "nobody")) if src.chance(90) else src.choice(
        ("", None, 5, b"WinNAT"))
    w.call("host.release_exclusions", (owner,), lambda: w.host.release_exclusions(owner))  # type: ignore[arg-type]


def _h_netsh(w: World, src: Source) -> None:
    """``host.run_netsh(command, admin=)``: show/add/delete excludedportrange, dynamicport."""
    version = src.choice(("ipv4", "ipv6"))
    proto = src.choice(("tcp", "udp")) if src.chance(95) else src.choice(("icmp", "TCP", ""))
    verb = src.choice(("show", "add", "delete", "show", "set"))
    start = w.port(PERSIST if verb != "set" else PortRange(1024, 60000))
    count = w.count() if verb != "set" else src.choice((16384, 255, 254, 64512, 1000, 0, 70000))
    if w.threaded and verb in ("add", "delete"):  # threads: blocks the ledger can name
        start, count = PERSIST.start + src.integer(0, PERSIST.count - 1), src.integer(1, 8)
    start, count = _numeral(start), _numeral(count)
    if verb == "set":
        words = ["int", version, "set", "dynamicport", proto, f"start={start}", f"num={count}"]
    elif verb == "show":
        words = ["interface", version, "show", src.choice(("excludedportrange", "dynamicport"))]
        words += [f"protocol={proto}"] if words[-1] == "excludedportrange" else [proto]
        if src.chance(20):
            words.append("store=persistent")
    else:
        store = src.choice(("", "store=active", "store=persistent"))
        words = ["int", version, verb, "excludedportrange", f"protocol={proto}",
                 f"startport={start}", f"numberofports={count}"] + ([store] if store else [])
    command: object = words
    mutable = verb in ("show", "set") or not w.threaded  # threads: add/delete stay exact
    if mutable and src.chance(10):  # a damaged command line
        mangled = list(words)
        index = src.integer(0, len(mangled) - 1)
        mangled[index] = src.choice(("", "junk", "startport=", "protocol=tcp", "=", "numberofports=x"))
        command = mangled
    elif mutable and src.chance(5):
        command = src.choice((" ".join(words), None, [1, 2], "", b"int ipv4 show"))
    admin = src.choice((True, False)) if src.chance(95) else src.choice(("yes", None, 1))
    runner: Any = getattr(w.host, "run_netsh", None) or w.host.netsh
    before = w._picture("view")
    held = None if w.threaded else _persistent_keys(w.host)
    ok, result = w.call("host.netsh", (command, admin),
                        lambda: runner(command, admin=admin), compare="view",
                        allowed=(NotImplementedError,))  # documented: outside the subset
    if not ok or result is None:
        return
    done = getattr(result, "done", None)
    if not done:  # a refusal, or a usage message: nothing changed
        if done is not None:
            w._check_refusal("host.netsh", before, "view")
        return
    if held is not None:  # what a (possibly damaged) command did, from the machine
        now = _persistent_keys(w.host)
        text = command if isinstance(command, str) else " ".join(map(str, command))  # type: ignore[call-overload]
        active = "store=active" in text.lower()
        for key in sorted(now - held):
            w.persistent_changed(key, +1, "host.netsh", active=active)
        for key in sorted(held - now):
            w.persistent_changed(key, -1, "host.netsh")
    elif (verb in ("add", "delete") and proto.lower() in ("tcp", "udp")
            and isinstance(start, int) and isinstance(count, int)):
        key = (int(Protocol.TCP if proto.lower() == "tcp" else Protocol.UDP), start, count)
        w.persistent_changed(key, +1 if verb == "add" else -1, "host.netsh",
                             active="store=active" in words)
    if verb == "set":
        w._dynamic = w._read_dynamic()


def _numeral(value: object) -> object:
    """``value`` as a command word would write it: an int of more digits than Python writes
    in decimal becomes such a numeral, made without ``str()``."""
    if isinstance(value, int) and value.bit_length() > 14_000:
        return ("-" if value < 0 else "") + "1" + "0" * 5000
    return value


def _persistent_keys(host: EmulatedHost) -> set[PersistentKey]:
    return {(int(p), r.range.start, r.range.count) for p in Protocol
            for r in host.reservations(p) if r.persistent}


def _h_new_host(w: World, src: Source) -> None:
    """The constructor with hostile options (the machine made is thrown away)."""
    seed: object = src.integer(0, 2**32) if src.chance(60) else w.hostile_int()
    dynamic: object = None
    if src.chance(50):
        dynamic = src.choice((PortRange(1024, 64512), PortRange(40000, 255), PortRange(40000, 254),
                              PortRange(1000, 1000), {Protocol.TCP: PortRange(2000, 300)},
                              {(Protocol.UDP, Family.INET6): PortRange(3000, 300)},
                              5, {6: 5}, (1, 2), {"tcp": PortRange(2000, 300)}, "49152-65535",
                              {Protocol.TCP: None}))
    variants: object = None
    if src.chance(40):
        variants = src.choice(({"X15": "refused"}, {"X15": "nope"}, {"Z99": "x"}, {"X15": None},
                               ["X15"], "X15", {5: 5}, {"Y2": "1025"}, {"B2": "WSAEFAULT"}))
    preset: object = None
    if src.chance(30):
        preset = src.choice(("default", "hyperv", "vs-runner", "nope", "", 5, None))
    store: object = None
    if src.chance(15):
        store = src.choice((5, 1.5, b"", object(), [], True))
    args = {"seed": seed, "dynamic_ports": dynamic, "variants": variants, "preset": preset,
            "store": store}
    ok, _ = w.call("host.new", (args,), lambda: EmulatedHost(**args), compare="none")  # type: ignore[arg-type]
    if ok and (not isinstance(seed, int) or isinstance(seed, bool)):
        w.violate("postcondition", "host.new", f"seed={seed!r} (not an int) was accepted")
