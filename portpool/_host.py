"""``EmulatedHost``: one simulated Windows machine, and the processes on it."""

from __future__ import annotations

import abc
import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ._interface import PortPool
from ._model._machine import Explanation, Machine
from ._model._store import SqliteStore, Store, StoredExclusion, StoredReservation
from ._registry import load_backend
from ._types import Binding, Connection, Exclusion, Family, PortRange, Protocol, Reservation

if TYPE_CHECKING:  # _dlls imports ctypes: only when a test asks for DLLs
    from ._netsh._frontend import NetshResult
    from ._winsock._dlls import CallControl, EmulatedDlls

__all__ = ["EmulatedHost", "EmulatedProcess"]


class EmulatedHost:
    """One emulated Windows machine: its TCP and UDP port pools and its processes.

    Everything on it is deterministic: with the same ``seed`` and the same calls,
    the same ports and tokens come out.  Any method may be called from any thread:
    one lock per host (:attr:`lock`) serializes the interface, the DLLs and these
    methods, as Winsock serializes one machine's calls.

    Args:
        seed: seeds the machine's own :class:`random.Random` (never the global one).
        dynamic_ports: the dynamic port ranges: one :class:`PortRange` for all four,
            or a dict keyed by :class:`Protocol` (both IP versions) or by
            ``(Protocol, Family)`` (default 49152-65535, rule R18).  Each must have at
            least 255 ports and start at 1024 or above (rules Y1, Y2).
        store: a path: keep the machine's registry (persistent reservations, this
            boot's exclusions, the dynamic ranges, the preset) in that sqlite file,
            which outlives the Python process as the registry outlives Windows
            (R13d).  Several hosts, threads or processes may share one file.  ``None``
            keeps it in memory for the life of the host.
        variants: ``{rule_id: alternative}`` for rules whose evidence conflicts (see
            ``portpool specs``); the others keep their defaults.
        preset: make the machine as a kind of real one is found (see :meth:`preset`).
        addresses: the machine's local addresses (IPv4 and IPv6 text); binding any
            other gives WSAEADDRNOTAVAIL (rule L1).  Default: loopback and one LAN
            address per family, ``127.0.0.1``, ``192.168.1.10``, ``::1``, ``fd00::10``.
        profile: a profile measured by ``portpool probe`` on a real machine (a JSON
            path or the mapping): its observed alternatives become ``variants``
            (explicit ``variants`` win).
        time_wait_delay: TcpTimedWaitDelay in seconds, 30-300 (default 120): how long
            a TCP connection closed first on this machine stays in TIME_WAIT, holding its
            port (rules T2, T3).  Kept in the store like the dynamic ranges.

    Raises:
        TypeError, ValueError: a bad option (checked before ``store`` is opened or made,
            so a refused option makes no file); a profile that is not a profile.
        StoreError: ``store`` is not a portpool store (the file is left untouched).
        PortPoolError: ERROR_NOT_SUPPORTED, ``store`` cannot be made, read or written
            (a missing directory, a file another process keeps locked past the timeout).
        OSError: a ``profile`` path that cannot be read.

    >>> host = EmulatedHost(seed=1)
    >>> app = host.process()
    >>> with app.socket() as s:
    ...     res = s.acquire_port_reservation(0, 10)
    ...     res.range.count
    10
    """

    def __init__(self, *, seed: int = 0, dynamic_ports: object = None,
                 store: str | os.PathLike[str] | Store | None = None,
                 variants: Mapping[str, str] | None = None, preset: str | None = None,
                 addresses: Sequence[str] | None = None,
                 profile: str | os.PathLike[str] | Mapping[str, object] | None = None,
                 time_wait_delay: int | None = None) -> None:
        self._setup(seed=seed, dynamic_ports=dynamic_ports, store=store, variants=variants,
                    preset=preset, addresses=addresses, profile=profile, rows=(),
                    time_wait_delay=time_wait_delay)

    def _setup(self, *, seed: int, dynamic_ports: object,
               store: str | os.PathLike[str] | Store | None,
               variants: Mapping[str, str] | None, preset: str | None,
               addresses: Sequence[str] | None,
               profile: str | os.PathLike[str] | Mapping[str, object] | None,
               rows: Sequence[StoredReservation | StoredExclusion],
               time_wait_delay: int | None) -> None:
        if profile is not None:
            from ._profiles import profile_variants

            variants = {**profile_variants(profile), **(variants or {})}
        opened: Store | Callable[[], Store] | None
        if store is None:  # the common case: no isinstance against the os.PathLike ABC
            opened = None
        elif isinstance(store, (str, os.PathLike)):
            # Opened by the machine once every option is checked: a refused option
            # makes no file.
            opened = functools.partial(SqliteStore, store)
        elif store is not None and not all(
                hasattr(store, name) for name in ("load", "first_boot", "add_reservation", "reboot")):
            raise TypeError(f"store must be a path or a portpool store, not {type(store).__name__}")
        else:
            opened = store
        self._machine = Machine(seed=seed, dynamic_ports=dynamic_ports, store=opened,
                                variants=variants, preset=preset, addresses=addresses, rows=rows,
                                time_wait_delay=time_wait_delay)
        self._calls: CallControl | None = None

    @classmethod
    def preset(cls, name: str, *, seed: int = 0, store: str | os.PathLike[str] | Store | None = None,
               variants: Mapping[str, str] | None = None,
               addresses: Sequence[str] | None = None,
               profile: str | os.PathLike[str] | Mapping[str, object] | None = None,
               time_wait_delay: int | None = None,
               ) -> EmulatedHost:
        """A machine as a kind of real one is found.

        Args:
            name: ``"default"`` (a clean machine), ``"hyperv"`` (WinNAT blocks inside
                the dynamic range, placed anew from the seed at every boot, HTTP.sys
                rows 5357 and 47001, the administered TCP 50000-50059) or
                ``"vs-runner"`` (dynamic range 1024-65534 as after a Visual Studio
                install, with WinNAT blocks over common development ports).
            seed, store, variants, addresses, profile, time_wait_delay: as for the
                constructor.

        Raises:
            ValueError: an unknown name.
            TypeError, ValueError, StoreError, PortPoolError, OSError: as for the
                constructor.
        """
        return cls(seed=seed, store=store, variants=variants, preset=name, addresses=addresses,
                   profile=profile, time_wait_delay=time_wait_delay)

    @classmethod
    def from_netsh(cls, *outputs: str | tuple[Protocol, str], ipv6_dynamic: Sequence[str] = (),
                   seed: int = 0, store: str | os.PathLike[str] | Store | None = None,
                   variants: Mapping[str, str] | None = None,
                   addresses: Sequence[str] | None = None,
                   profile: str | os.PathLike[str] | Mapping[str, object] | None = None,
                   netstat: str | None = None, time_wait_delay: int | None = None,
                   ) -> EmulatedHost:
        """A machine seeded from a real machine's netsh output (and its sockets, from its
        ``netstat -ano`` output).

        Args:
            outputs: texts printed by ``netsh int ipv4 show excludedportrange
                protocol=tcp|udp`` or ``netsh int ipv4 show dynamicport tcp|udp``, as
                pasted (any language); a text whose title does not name its protocol
                is given as ``(Protocol.TCP, text)``.  Rows without ``*`` become
                system exclusions (owner ``"unknown"``), ``*`` rows persistent
                reservations, dynamic ranges apply to IPv4 and IPv6 alike.
            ipv6_dynamic: ``netsh int ipv6 show dynamicport`` outputs, when the IPv6
                ranges differ.
            netstat: ``netstat -ano`` output of the same machine, as pasted (any
                language): its processes (with their PIDs), listening sockets, UDP sockets
                and TCP connections (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT, which
                hold their ports: rules T8, T12) join the machine, whose addresses then
                include the rows' local addresses.
            seed, store, variants, addresses, profile, time_wait_delay: as for the
                constructor.

        All or nothing: every text is read and every row checked before the machine is
        made, and the rows and ranges are stored in one transaction; a refused call
        leaves ``store`` as it was (a new file: absent, or a store of no machine yet), so
        the corrected call works.  The same row in two outputs (``ipv4`` and ``ipv6``
        print one list) counts once.

        Raises:
            portpool.netsh.NetshParseError: a text is not netsh output.
            portpool.netstat.NetstatParseError: ``netstat`` is not netstat output.
            ValueError: a text's protocol cannot be told, a range is out of limits (Y1,
                Y2), rows of two outputs overlap, or a row overlaps one the store holds;
                the netstat output has no PID column (run ``netstat -ano``); a bad option
                (as for the constructor).
            TypeError: an output is not a str; a bad option.
            StoreError: ``store`` is not a portpool store (left untouched).
            PortPoolError: ERROR_NOT_SUPPORTED, ``store`` cannot be read or written.
        """
        from ._netsh._frontend import netsh_machine

        ranges, rows = netsh_machine(outputs, ipv6_dynamic)  # every text read first
        sockets = None
        if netstat is not None:  # read before anything is made, like the netsh texts
            from ._model._machine import DEFAULT_ADDRESSES
            from ._netstat._frontend import local_addresses
            from ._netstat._read import parse_netstat

            sockets = parse_netstat(netstat)
            addresses = list(dict.fromkeys([*(DEFAULT_ADDRESSES if addresses is None
                                              else addresses), *local_addresses(sockets)]))
        host = cls.__new__(cls)
        host._setup(seed=seed, dynamic_ports=ranges, store=store, variants=variants, preset=None,
                    addresses=addresses, profile=profile, rows=rows, time_wait_delay=time_wait_delay)
        if sockets is not None:
            from ._netstat._frontend import machine_from_netstat

            machine_from_netstat(host._machine, sockets)
        return host

    @property
    def machine(self) -> Machine:
        """The model behind this host (for backends and introspection)."""
        return self._machine

    @property
    def lock(self) -> threading.RLock:
        """The host's lock: every call on the machine holds it."""
        return self._machine.lock

    @property
    def variants(self) -> dict[str, str]:
        """The alternative in force for each rule that has alternatives."""
        return self._machine.variants

    def process(self, *, admin: bool = False, user: str | None = None) -> EmulatedProcess:
        """Start a new process on this machine and return its :class:`PortPool`.

        Args:
            admin: whether it runs as an elevated administrator (needed for the
                persistent create/delete calls, for associating persistent tokens
                and for SOCK_RAW).
            user: the account it runs as (default ``"user"``, one account for every
                process).  Binds of different accounts meet the stricter of the two
                SO_REUSEADDR/SO_EXCLUSIVEADDRUSE tables (rules C7-C12).
        """
        process: EmulatedProcess = load_backend("emulated").attach(self, admin=admin, user=user)
        return process

    @property
    def calls(self) -> CallControl:
        """Call-level modes of the emulated DLLs: ``pend_overlapped``, ``fail_next()``,
        ``complete_pending()`` (see :class:`portpool.CallControl`); shared by every
        process's DLLs on this machine."""
        with self.lock:
            if self._calls is None:
                from ._winsock._dlls import CallControl

                self._calls = CallControl()
            return self._calls

    def dlls(self, *, admin: bool = False, user: str | None = None) -> EmulatedDlls:
        """Start a new process and return its emulated ``(ws2_32, iphlpapi)`` pair.

        Their attributes are real C function pointers with the Windows prototypes, so
        ctypes code written for the real DLLs runs over them:
        ``WindowsPool(dlls=host.dlls())`` is the ctypes backend over this machine.
        """
        from ._winsock._dlls import EmulatedDlls

        return EmulatedDlls(self, self._machine.create_process(admin=admin, user=user), self.calls)

    def reboot(self) -> None:
        """Restart the machine: every process ends, runtime reservations and bindings
        vanish, persistent reservations stay with new tokens, and the preset's
        components place their exclusions anew (rules R4, R13d, A10, X1).

        All or nothing: if the store cannot be read (StoreError, PortPoolError), the
        machine is left exactly as it was.
        """
        self._machine.reboot()

    def exclude(self, protocol: Protocol, start: int, count: int, *,
                owner: str = "WinNAT") -> Exclusion:
        """A Windows component (WinNAT, HTTP.sys, ...) excludes a block (rule X1).

        A plain bind into it gets WSAEACCES (X2); netsh lists it without ``*`` and
        cannot delete it (X7); it lasts until :meth:`release_exclusions` or a reboot.

        Raises:
            PortPoolError: ERROR_SHARING_VIOLATION if it overlaps another block (X12);
                ERROR_NOT_SUPPORTED if the store cannot be read or written.
            StoreError: the store file is no longer a usable store.
            TypeError, ValueError: bad arguments.
        """
        return self._machine.exclude(protocol, start, count, owner)

    def release_exclusions(self, owner: str) -> int:
        """The component stops (``net stop winnat`` for ``"WinNAT"``): its rows go.

        Returns:
            How many rows were removed.

        Raises:
            TypeError: ``owner`` is not a str.
            PortPoolError, StoreError: the store cannot be written (as for :meth:`exclude`).
        """
        return self._machine.release_exclusions(owner)

    def stop_component(self, owner: str = "WinNAT") -> tuple[Exclusion, ...]:
        """The component stops (``net stop winnat``): its rows go until it starts again
        (rules X1, X16).

        Returns:
            The rows that went (none when it was stopped already).
        """
        return self._machine.stop_component(owner)

    def start_component(self, owner: str = "WinNAT") -> tuple[tuple[Exclusion, ...], tuple[Exclusion, ...]]:
        """The component starts again (``net start winnat``): each row it held comes back
        where it was, except one that would now overlap another block, such as an
        administered row added while it was stopped (rule X16).

        Returns:
            (the rows back, the rows left out).
        """
        return self._machine.start_component(owner)

    def component_stopped(self, owner: str = "WinNAT") -> bool:
        """Whether :meth:`stop_component` stopped it (and it has not started since the last boot)."""
        return self._machine.component_stopped(owner)

    def exclusions(self, protocol: Protocol) -> tuple[Exclusion, ...]:
        """The rows ``netsh int ipv4 show excludedportrange`` lists, sorted: system
        exclusions (with their owner), administered rows (``administered=True``,
        ``owner=None``) and, under rule X13's default, runtime reservations.

        Raises:
            TypeError, ValueError: ``protocol`` is not a Protocol.
            PortPoolError, StoreError: the store cannot be read (as for :meth:`exclude`).
        """
        return self._machine.exclusions(protocol)

    def netsh(self, command: str | Sequence[str], *, admin: bool = False) -> str:
        """Run a netsh command on this machine; returns exactly what netsh prints (en-US).

        Understood: ``interface|int ipv4|ipv6 show|add|delete excludedportrange
        protocol=tcp|udp [startport=N numberofports=N] [store=active|persistent]`` and
        ``show|set dynamicport tcp|udp [start=N num=N]``.  Failures are printed as
        netsh prints them; :meth:`run_netsh` also gives the exit status.

        Args:
            command: the words after ``netsh`` (a string is split on spaces).
            admin: whether netsh runs elevated (add, delete and set need it: N2).
        """
        return self.run_netsh(command, admin=admin).output

    def run_netsh(self, command: str | Sequence[str], *, admin: bool = False) -> NetshResult:
        """Like :meth:`netsh`, with the exit status and the Windows code of a failure."""
        from ._netsh._frontend import run_netsh

        return run_netsh(self._machine, command, admin=admin)

    def dynamic_range(self, protocol: Protocol, family: Family = Family.INET) -> PortRange:
        """The dynamic port range of ``protocol`` for ``family``'s sockets (R18, Y4)."""
        return self._machine.dynamic_range(protocol, family)

    def reservations(self, protocol: Protocol) -> tuple[Reservation, ...]:
        """Every live reservation of ``protocol``, runtime and persistent, in port order."""
        return self._machine.reservations(protocol)

    def bindings(self, protocol: Protocol) -> tuple[Binding, ...]:
        """Every bound socket of ``protocol``, in port order."""
        return self._machine.bindings(protocol)

    def explain(self, protocol: Protocol, port: int) -> Explanation:
        """Who holds ``port``, what a plain bind to it would get, and which rules say so.

        Raises:
            ValueError: ``port`` is not in 1-65535.
        """
        return self._machine.explain(protocol, port)

    # --- the clock, connections and netstat (rules T1-T12) ----------------------------

    @property
    def clock(self) -> float:
        """Seconds since boot on this machine's clock; only :meth:`advance` moves it, and a
        reboot sets it to 0 (rule T1)."""
        return self._machine.clock

    def advance(self, seconds: float) -> int:
        """Let ``seconds`` pass on this machine: TIME_WAIT connections whose
        TcpTimedWaitDelay is over go, and their ports are free again (rules T1, T3).

        Returns:
            How many connections went.

        Raises:
            TypeError: ``seconds`` is not a number.
            ValueError: negative, infinite or NaN.

        >>> host = EmulatedHost(seed=1)
        >>> host.advance(host.time_wait_delay)
        0
        >>> host.clock
        120.0
        """
        return self._machine.advance(seconds)

    @property
    def time_wait_delay(self) -> int:
        """TcpTimedWaitDelay in force this boot, in seconds (rule T2)."""
        return self._machine.time_wait_delay

    def set_time_wait_delay(self, seconds: int) -> None:
        """Set TcpTimedWaitDelay in the machine's registry (the store); as on Windows it
        applies from the next :meth:`reboot` (rule T2).

        Raises:
            TypeError, ValueError: not an int in 30-300.
        """
        self._machine.set_time_wait_delay(seconds)

    def connections(self, protocol: Protocol | None = None) -> tuple[Connection, ...]:
        """What ``netstat -ano`` lists, as values: listening TCP sockets, every TCP
        connection endpoint (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT) and bound UDP
        sockets, in netstat's order (rule T12)."""
        return self._machine.connections(protocol)

    def netstat(self) -> str:
        """Exactly what ``netstat -ano`` prints on Windows (en-US) for this machine (T12).

        :func:`portpool.netstat.parse` reads it back, and reads a real machine's output
        in any display language.
        """
        from ._netstat._frontend import render_machine

        return render_machine(self._machine)

    def snapshot(self) -> tuple[object, ...]:
        """A hashable picture of the whole machine (equal before and after a failed call)."""
        return self._machine.snapshot()

    def find_free_block(self, count: int,
                        protocols: Protocol | Sequence[Protocol] = (Protocol.TCP, Protocol.UDP),
                        ) -> PortRange:
        """The lowest block of ``count`` ports that is safe to reserve for ``protocols``:
        at or above 1024, outside every dynamic range (ipv4 and ipv6) and every row,
        held by no socket (``portpool advise``).

        Raises:
            TypeError, ValueError: bad arguments, or no such block (the message says
                which dynamic ranges fill the space).
        """
        from ._model._advice import find_free_block

        return find_free_block(self._machine, count, protocols)

    def _repr_svg_(self) -> str:
        """The TCP and UDP port spaces to scale, for notebooks (see ``portpool map``)."""
        from ._teach._map import render_svg

        return render_svg(self, (Protocol.TCP, Protocol.UDP))


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
