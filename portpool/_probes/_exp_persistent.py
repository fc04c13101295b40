"""Experiments for persistent reservations, system exclusions and netsh."""

from __future__ import annotations

from functools import partial

from ..netsh import parse_excluded_ranges
from ._kit import (
    TCP,
    UDP,
    E,
    Finding,
    acquire_block,
    addr,
    expects,
    experiment,
    scratch_port,
    tcp_socket,
    udp_socket,
)
from ._lab import Lab, Skip

# --- persistent reservations -------------------------------------------------------------


@experiment("A27", "Lookup and Delete 65530+10", admin=True)
def _a27(lab: Lab) -> Finding:
    pool = lab.main
    return expects("A27", lab.see("lookup TCP 65530+10",
                                  lambda: pool.lookup_persistent_reservation(TCP, 65530, 10)),
                   lab.see("delete TCP 65530+10",
                           lambda: pool.delete_persistent_reservation(TCP, 65530, 10)))


@experiment("A14", "a non-elevated Create(0, 0)", needs=("unprivileged",))
def _a14(lab: Lab) -> Finding:
    pool = lab.unprivileged()
    return lab.see("create TCP 0+0", lambda: pool.create_persistent_reservation(TCP, 0, 0)).code == int(
        E.ERROR_INVALID_PARAMETER)


@experiment("A15", "acquire a TCP block; Create a persistent block over it", admin=True)
def _a15(lab: Lab) -> Finding:
    start = scratch_port(lab, 210)
    acquire_block(lab, tcp_socket(lab), start, 10)
    return expects("A15", lab.see(f"create persistent TCP {start + 5}+10",
                                  lambda: lab.main.create_persistent_reservation(TCP, start + 5, 10)))


@experiment("A10", "create a persistent block, reboot, look it up", admin=True, needs=("reboot",))
def _a10(lab: Lab) -> Finding:
    start = scratch_port(lab, 222)
    made = lab.see(f"create persistent TCP {start}+5",
                   lambda: lab.main.create_persistent_reservation(TCP, start, 5))
    if not made.ok:
        raise Skip(f"the setup failed: {made.text()}")
    lab.reboot()
    lab.note("rebooted")
    after = lab.other()
    found = lab.see(f"lookup TCP {start}+5",
                    lambda: after.lookup_persistent_reservation(TCP, start, 5))
    return found.ok and found.value != made.value


@experiment("A26", "create a persistent block elevated; look it up from a non-elevated process",
             admin=True, needs=("unprivileged",))
def _a26(lab: Lab) -> Finding:
    start = scratch_port(lab, 228)
    made = lab.see(f"create persistent TCP {start}+5",
                   lambda: lab.main.create_persistent_reservation(TCP, start, 5))
    if not made.ok:
        raise Skip(f"the setup failed: {made.text()}")
    plain = lab.unprivileged()
    found = lab.see(f"non-elevated lookup TCP {start}+5",
                    lambda: plain.lookup_persistent_reservation(TCP, start, 5))
    return found.ok and found.value == made.value


# --- exclusions and netsh ----------------------------------------------------------------


@experiment("X12", "a component excludes over a persistent block, and over a bound port",
             admin=True, needs=("component",))
def _x12(lab: Lab) -> Finding:
    start = scratch_port(lab, 234)
    lab.see(f"create persistent UDP {start}+5",
            lambda: lab.main.create_persistent_reservation(UDP, start, 5))
    over_block = lab.see("component excludes over it", lambda: lab.component(UDP, start + 2, 2))
    sock = udp_socket(lab)
    lab.see(f"bind {start + 10}", lambda: sock.bind(addr(start + 10)))
    over_bound = lab.see("component excludes over the bound port",
                         lambda: lab.component(UDP, start + 10, 1))
    return expects("X12", over_block) and over_bound.ok


@experiment("X16", "net stop winnat, add an administered row inside a WinNAT row, net start"
             " winnat: by hand (stopping winnat on a probe machine cuts its containers' and"
             " VMs' networking; see the rule's check)", runnable=False)
def _x16(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("run by hand: it stops winnat")
@experiment("N1", "netsh add a row, Lookup it through the API, delete part of it", admin=True)
def _n1(lab: Lab) -> Finding:
    start = scratch_port(lab, 232)
    row = f"protocol=tcp startport={start} numberofports=6"
    if not lab.netsh(f"int ipv4 add excludedportrange {row}").ok:
        raise Skip("netsh add excludedportrange failed")
    lab.defer("netsh delete", partial(lab.netsh, f"int ipv4 delete excludedportrange {row}", quiet=True))
    found = lab.see(f"LookupPersistentTcpPortReservation({start}, 6)",
                    partial(lab.main.lookup_persistent_reservation, TCP, start, 6))
    lab.netsh(f"int ipv4 delete excludedportrange protocol=tcp startport={start} numberofports=3",
              quiet=True)
    kept = any(r.start == start and r.administered for r in lab.exclusions(TCP))
    return found.ok and kept


@experiment("N3", "netsh add store=active and a default row; show with store=persistent",
             admin=True)
def _n3(lab: Lab) -> Finding:
    active, lasting = scratch_port(lab, 240), scratch_port(lab, 246)
    for start, store in ((active, " store=active"), (lasting, "")):
        lab.change(f"int ipv4 add excludedportrange protocol=tcp startport={start}"
                   f" numberofports=5{store}",
                   f"int ipv4 delete excludedportrange protocol=tcp startport={start}"
                   f" numberofports=5{store}", f"delete the row {start}-{start + 4}")
    shown = {(r.start, r.administered) for r in lab.exclusions(TCP)}
    kept = lab.netsh("int ipv4 show excludedportrange protocol=tcp store=persistent", quiet=True)
    persistent = {r.start for r in parse_excluded_ranges(kept.output)}
    lab.note(f"shown: {sorted(shown)}; under store=persistent: {sorted(persistent)}")
    return ({(active, True), (lasting, True)} <= shown and lasting in persistent
            and active not in persistent)
