"""The operation table: every operation the fuzzer draws is one :class:`Operation` row of
:data:`OPERATIONS`, and :class:`FuzzOptions` chooses the rows a run draws from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from ..._host import EmulatedHost
from ..._types import PortRange
from ._dll_ops import (
    _d_bind,
    _d_cleanup,
    _d_closesocket,
    _d_exit,
    _d_getsockname,
    _d_persistent,
    _d_process,
    _d_socket,
    _d_startup,
)
from ._event_ops import _d_events, _d_overlapped_result, _d_wait
from ._faults import _c_fail_next_hostile, _c_fault, _c_pend
from ._host_ops import _h_exclude, _h_introspect, _h_netsh, _h_new_host, _h_reboot, _h_release_exclusions
from ._interface_ops import (
    _i_acquire,
    _i_associate,
    _i_bind,
    _i_close,
    _i_connect,
    _i_cpu_affinity,
    _i_exit,
    _i_getpeername,
    _i_getsockname,
    _i_getsockopt,
    _i_process,
    _i_release,
    _i_setsockopt,
    _i_socket,
    _persistent_op,
)
from ._ioctl_ops import _d_ioctl
from ._text_ops import _t_netsh_text

if TYPE_CHECKING:
    from ._sources import Source
    from ._world import World


def _always(host: EmulatedHost) -> bool:
    del host
    return True


@attrs.frozen
class Operation:
    """One row of the operation table.

    Attributes:
        name: ``layer.verb``, as counted in the report.
        layer: ``"interface"``, ``"dll"`` or ``"host"`` (selected by
            :attr:`FuzzOptions.layers`).
        weight: how often it is drawn, relative to the others.
        run: ``run(world, source)``: draws arguments, makes its calls.
        available: whether the host supports it (``hasattr`` for coming methods).
        threads: whether it may run while other threads use the host (not for
            operations that replace the whole machine: reboot).
    """

    name: str
    layer: str
    weight: int
    run: Callable[[World, Source], None]
    available: Callable[[EmulatedHost], bool] = _always
    threads: bool = True


@attrs.frozen
class FuzzOptions:
    """How a run is shaped.

    Attributes:
        layers: which layers' operations to draw (``interface``, ``dll``, ``host``).
        only: if given, only the operations with these names.
        exclude: operations never drawn.
        episode: calls on one machine before a full check and a fresh machine.
        max_sockets: live sockets a world keeps at most (more: it closes one).
        check_every: the structural check runs after every this many calls.
        full_every: the full check (ledger) runs after every this many calls.
        compare_refusals: compare ``host.snapshot()`` around refused calls
            (single-threaded runs only).
        unsafe_wait_counts: also pass huge ``cEvents`` with a 65-entry array to
            WSAWaitForMultipleEvents (crashes an emulator that reads them all).
        dynamic_ports: the dynamic range of fresh machines (``None``: drawn).
    """

    layers: frozenset[str] = frozenset({"interface", "dll", "host"})
    only: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    episode: int = 2000
    max_sockets: int = 48
    check_every: int = 1
    full_every: int = 500
    compare_refusals: bool = True
    unsafe_wait_counts: bool = False
    dynamic_ports: PortRange | None = None

    def operations(self, host: EmulatedHost, *, threaded: bool = False) -> list[Operation]:
        """The rows of :data:`OPERATIONS` this run draws from."""
        chosen = [op for op in OPERATIONS
                  if op.layer in self.layers and op.name not in self.exclude
                  and (self.only is None or op.name in self.only)
                  and op.available(host) and (op.threads or not threaded)]
        if not chosen:
            raise ValueError("no operation left to fuzz with these options")
        return chosen



def _has(name: str) -> Callable[[EmulatedHost], bool]:
    def available(host: EmulatedHost) -> bool:
        return hasattr(host, name)

    return available


#: Every operation the fuzzer draws, by layer.  Adding one is adding a row.
OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation("interface.process", "interface", 10, _i_process),
    Operation("interface.exit", "interface", 5, _i_exit),
    Operation("interface.socket", "interface", 60, _i_socket),
    Operation("interface.acquire", "interface", 60, _i_acquire),
    Operation("interface.associate", "interface", 40, _i_associate),
    Operation("interface.release", "interface", 35, _i_release),
    Operation("interface.bind", "interface", 70, _i_bind),
    Operation("interface.getsockname", "interface", 20, _i_getsockname),
    Operation("interface.setsockopt", "interface", 25, _i_setsockopt),
    Operation("interface.getsockopt", "interface", 10, _i_getsockopt),
    Operation("interface.connect", "interface", 20, _i_connect),
    Operation("interface.getpeername", "interface", 5, _i_getpeername),
    Operation("interface.set_cpu_affinity", "interface", 8, _i_cpu_affinity),
    Operation("interface.close", "interface", 40, _i_close),
    Operation("interface.create_persistent", "interface", 20, _persistent_op("create")),
    Operation("interface.lookup_persistent", "interface", 10, _persistent_op("lookup")),
    Operation("interface.delete_persistent", "interface", 15, _persistent_op("delete")),
    Operation("host.introspect", "host", 15, _h_introspect),
    Operation("host.reboot", "host", 1, _h_reboot, threads=False),
    Operation("host.new", "host", 3, _h_new_host),
    Operation("host.exclude", "host", 10, _h_exclude, _has("exclude")),
    Operation("host.release_exclusions", "host", 5, _h_release_exclusions,
              _has("release_exclusions")),
    Operation("host.netsh", "host", 10, _h_netsh, _has("netsh")),
    Operation("host.netsh_text", "host", 4, _t_netsh_text, _has("netsh")),
    Operation("dll.process", "dll", 5, _d_process),
    Operation("dll.exit", "dll", 5, _d_exit),
    Operation("dll.WSAStartup", "dll", 5, _d_startup),
    Operation("dll.WSACleanup", "dll", 5, _d_cleanup),
    Operation("dll.socket", "dll", 50, _d_socket),
    Operation("dll.bind", "dll", 50, _d_bind),
    Operation("dll.getsockname", "dll", 20, _d_getsockname),
    Operation("dll.closesocket", "dll", 30, _d_closesocket),
    Operation("dll.ioctl", "dll", 120, _d_ioctl),
    Operation("dll.events", "dll", 15, _d_events),
    Operation("dll.WSAWaitForMultipleEvents", "dll", 15, _d_wait),
    Operation("dll.WSAGetOverlappedResult", "dll", 5, _d_overlapped_result),
    Operation("dll.persistent", "dll", 30, _d_persistent),
    Operation("dll.fault", "dll", 10, _c_fault),
    Operation("dll.fail_next_hostile", "dll", 5, _c_fail_next_hostile),
    Operation("dll.pending", "dll", 10, _c_pend),
)
