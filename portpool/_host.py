"""``EmulatedHost``: one simulated Windows machine, and the processes on it."""

from __future__ import annotations

import abc
import os
from typing import TYPE_CHECKING

from ._interface import PortPool
from ._model._machine import Explanation, Machine
from ._model._store import SqliteStore, Store
from ._registry import load_backend
from ._types import Binding, PortRange, Protocol, Reservation

if TYPE_CHECKING:  # _dlls imports ctypes: only when a test asks for DLLs
    from ._dlls import CallControl, EmulatedDlls

__all__ = ["EmulatedHost", "EmulatedProcess"]


class EmulatedHost:
    """One emulated Windows machine: its TCP and UDP port pools and its processes.

    Everything on it is deterministic: with the same ``seed`` and the same calls,
    the same ports and tokens come out.

    Args:
        seed: seeds the machine's own :class:`random.Random` (never the global one).
        dynamic_ports: the dynamic port range, one :class:`PortRange` for both
            protocols or a dict per :class:`Protocol` (default 49152-65535, rule R18).
        store: a path: keep persistent reservations in that sqlite file, which
            outlives the Python process as the registry outlives Windows (R13d).
            ``None`` keeps them in memory for the life of the host.

    >>> host = EmulatedHost(seed=1)
    >>> app = host.process()
    >>> with app.socket() as s:
    ...     res = s.acquire_port_reservation(0, 10)
    ...     res.range.count
    10
    """

    def __init__(self, *, seed: int = 0,
                 dynamic_ports: PortRange | dict[Protocol, PortRange] | None = None,
                 store: str | os.PathLike[str] | Store | None = None) -> None:
        if store is not None and isinstance(store, (str, os.PathLike)):
            store = SqliteStore(store)
        self._machine = Machine(seed=seed, dynamic_ports=dynamic_ports, store=store)
        self._calls: CallControl | None = None

    @property
    def machine(self) -> Machine:
        """The model behind this host (for backends and introspection)."""
        return self._machine

    def process(self, *, admin: bool = False) -> EmulatedProcess:
        """Start a new process on this machine and return its :class:`PortPool`.

        Args:
            admin: whether it runs as an elevated administrator (needed for the
                persistent create/delete calls, for associating persistent tokens
                and for SOCK_RAW).
        """
        process: EmulatedProcess = load_backend("emulated").attach(self, admin=admin)
        return process

    @property
    def calls(self) -> CallControl:
        """Call-level modes of the emulated DLLs: ``pend_overlapped``, ``fail_next()``,
        ``complete_pending()`` (see :class:`portpool.CallControl`); shared by every
        process's DLLs on this machine."""
        if self._calls is None:
            from ._dlls import CallControl

            self._calls = CallControl()
        return self._calls

    def dlls(self, *, admin: bool = False) -> EmulatedDlls:
        """Start a new process and return its emulated ``(ws2_32, iphlpapi)`` pair.

        Their attributes are real C function pointers with the Windows prototypes, so
        ctypes code written for the real DLLs runs over them:
        ``WindowsPool(dlls=host.dlls())`` is the ctypes backend over this machine.
        """
        from ._dlls import EmulatedDlls

        return EmulatedDlls(self, self._machine.create_process(admin=admin), self.calls)


    def reboot(self) -> None:
        """Restart the machine: every process ends, runtime reservations and bindings
        vanish, persistent reservations stay with new tokens (rules R4, R13d, A10)."""
        self._machine.reboot()

    def dynamic_range(self, protocol: Protocol) -> PortRange:
        """The dynamic port range of ``protocol`` (rule R18)."""
        return self._machine.dynamic_range(protocol)

    def reservations(self, protocol: Protocol) -> tuple[Reservation, ...]:
        """Every live reservation of ``protocol``, runtime and persistent, in port order."""
        return self._machine.reservations(protocol)

    def bindings(self, protocol: Protocol) -> tuple[Binding, ...]:
        """Every bound socket of ``protocol``, in port order."""
        return self._machine.bindings(protocol)

    def explain(self, protocol: Protocol, port: int) -> Explanation:
        """Who holds ``port``, what a plain bind to it would get, and which rules say so.

        Raises:
            PortPoolError: ERROR_INVALID_PARAMETER if ``port`` is not in 1-65535.
        """
        return self._machine.explain(protocol, port)

    def snapshot(self) -> tuple[object, ...]:
        """A hashable picture of the whole machine (equal before and after a failed call)."""
        return self._machine.snapshot()


class EmulatedProcess(PortPool):
    """A process on an :class:`EmulatedHost`: a :class:`PortPool` that can also exit."""

    @property
    @abc.abstractmethod
    def host(self) -> EmulatedHost:
        """The machine this process runs on."""

    @property
    @abc.abstractmethod
    def pid(self) -> int:
        """The process id (a multiple of 4, as on Windows)."""

    @property
    @abc.abstractmethod
    def admin(self) -> bool:
        """Whether the process runs as an elevated administrator."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the process still runs (not exited, not from before a reboot)."""

    @abc.abstractmethod
    def exit(self) -> None:
        """End the process: its sockets close and their runtime reservations go (R4)."""
