"""The bench an experiment runs on: one machine, its processes, its netsh, a record.

Theory of operation
-------------------
An experiment (``_experiments.py``) is a function of a :class:`Lab`.  It opens
sockets through ``lab.main`` (this process) and ``lab.other()`` (another process on
the same machine), runs netsh through ``lab.netsh``, and makes each call it wants to
judge through ``lab.see(label, call)``, which records the call and its outcome (the
value, or the Windows code) as evidence.  Everything an experiment makes is undone by
:meth:`Lab.undo`, which the runner calls in ``finally``: the lab's pools are wrapped so
that every socket they open is closed and every persistent reservation they create is
deleted; netsh changes register their own undo with :meth:`Lab.defer`.

Three labs: :class:`EmulatedLab` drives an :class:`~portpool.EmulatedHost` through the
emulated backend, or (``via="ctypes"``) through the ctypes backend over the emulated
DLLs; :class:`WindowsLab` drives the real machine (ctypes over the real DLLs, netsh.exe
in a subprocess, other processes as children: ``_child.py``).  What a lab cannot do
is named in :attr:`Lab.capabilities`; an experiment that needs more is skipped with
the reason.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import os
import socket as _pysocket
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from .. import __version__
from .._errors import PortPoolError, WinError
from .._interface import Address, PortPool, Socket
from .._netsh._console import SystemMessage, decode_console_output, failure_texts, find_code
from .._registry import load_backend
from .._types import AF_INET, SOCK_STREAM, SOMAXCONN, PortRange, Protocol, Reservation
from ..netsh import NetshParseError, parse_dynamic_port, parse_excluded_ranges
from ._child import ChildPool, basic_user_launcher
from ._journal import Journal

if TYPE_CHECKING:
    from .._host import EmulatedHost
    from .._winsock._dlls import EmulatedDlls
    from ..netsh import ExcludedRange

__all__ = [
    "CAPABILITIES",
    "DEFAULT_SCRATCH",
    "EmulatedLab",
    "Lab",
    "NetshRun",
    "Seen",
    "Skip",
    "WindowsLab",
    "code_text",
    "is_elevated",
]

#: Where the experiments put their specific blocks and binds: 256 ports, outside the
#: default dynamic range (49152-65535) and below the ranges Visual Studio leaves
#: crowded.  ``portpool probe --scratch START`` moves it.
DEFAULT_SCRATCH: Final = PortRange(40000, 256)

#: What a lab may be able to do beyond one process's interface:
#: ``other-process`` a second process on the machine; ``unprivileged`` a process without
#: administrator rights besides an elevated one; ``exit`` end a process without closing
#: its sockets; ``reboot``; ``component`` make a Windows component place a system
#: exclusion; ``dlls`` the Winsock DLLs themselves, for the call-shape rules.
CAPABILITIES: Final = ("other-process", "unprivileged", "exit", "reboot", "component", "dlls")

_COMPONENT: Final = "probe-component"


def code_text(code: int | None) -> str:
    """``WSAEACCES (10013)``, or ``ok`` for ``None``."""
    if code is None:
        return "ok"
    try:
        return f"{WinError(code).name} ({code})"
    except ValueError:
        return f"Windows error {code}"


class Skip(Exception):  # noqa: N818 - "raise Skip(reason)" reads as what happens
    """Raised by an experiment (or the lab) that cannot run here; the reason is reported."""


@attrs.frozen
class Seen:
    """One call an experiment made and what came of it.

    Attributes:
        label: the call, as the evidence shows it.
        value: what it returned (``None`` if it failed).
        code: the Windows code it failed with, or ``None`` if it succeeded.
    """

    label: str
    value: Any = None
    code: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.code is None

    def text(self) -> str:
        """``label -> WSAEACCES (10013)`` or ``label -> ok: value``."""
        if self.code is not None:
            return f"{self.label} -> {code_text(self.code)}"
        return f"{self.label} -> ok{_shown(self.value)}"


def _shown(value: object) -> str:
    """A call's value as evidence shows it (briefly)."""
    if value is None or isinstance(value, Socket):
        return ""
    if isinstance(value, Reservation):
        kind = "persistent" if value.persistent else "runtime"
        return f": {kind} block {value.range.start}-{value.range.last}, token {value.token:#x}"
    if isinstance(value, int) and not isinstance(value, bool) and value > 0xFFFF:
        return f": {value:#x}"
    return f": {value!r}"


@attrs.frozen
class NetshRun:
    """What one netsh command did.

    Attributes:
        output: what it printed.
        ok: whether the command was carried out.
        code: the Windows code of a refusal, when its message is one portpool knows.
    """

    output: str
    ok: bool
    code: int | None = None


class _TrackedSocket(Socket):
    """A socket whose pool remembers it, so that the lab can close it."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Socket) -> None:
        self._inner = inner
        self._family, self._type = inner._family, inner._type

    def acquire_port_reservation(self, start: int, count: int) -> Any:
        return self._inner.acquire_port_reservation(start, count)

    def associate_port_reservation(self, token: int) -> None:
        self._inner.associate_port_reservation(token)

    def release_port_reservation(self, token: int) -> None:
        self._inner.release_port_reservation(token)

    def bind(self, address: Address) -> None:
        self._inner.bind(address)

    def getsockname(self) -> Address:
        return self._inner.getsockname()

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self._inner.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        return self._inner.getsockopt(level, option)

    def connect(self, address: Address) -> None:
        self._inner.connect(address)

    def getpeername(self) -> Address:
        return self._inner.getpeername()

    def listen(self, backlog: int = 128) -> None:
        self._inner.listen(backlog)

    def accept(self) -> tuple[Socket, Address]:
        return self._inner.accept()

    def set_cpu_affinity(self, processor: int) -> None:
        self._inner.set_cpu_affinity(processor)

    def close(self) -> None:
        self._inner.close()

    def fileno(self) -> int:
        return self._inner.fileno()


class _TrackedPool(PortPool):
    """A process's pool that remembers what it made: sockets and persistent blocks."""

    def __init__(self, inner: PortPool, admin: bool, handle: object = None) -> None:
        self.inner, self.admin, self.handle = inner, admin, handle
        self.sockets: list[Socket] = []
        self.persistent: list[tuple[Protocol, int, int]] = []

    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM,  # noqa: A002 - socket's own name
               proto: int = 0) -> Socket:
        sock = _TrackedSocket(self.inner.socket(family, type, proto))
        self.sockets.append(sock)
        return sock

    def create_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        token = self.inner.create_persistent_reservation(protocol, start, count)
        self.persistent.append((Protocol(protocol), start, count))
        return token

    def lookup_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> int:
        return self.inner.lookup_persistent_reservation(protocol, start, count)

    def delete_persistent_reservation(self, protocol: Protocol, start: int, count: int) -> None:
        self.inner.delete_persistent_reservation(protocol, start, count)
        with contextlib.suppress(ValueError):
            self.persistent.remove((Protocol(protocol), start, count))

    def close(self) -> None:
        self.inner.close()


class Lab(abc.ABC):
    """One machine to experiment on (see the module docstring).

    Attributes:
        name: the backend: ``"emulated"``, ``"ctypes"`` (over emulated DLLs) or ``"windows"``.
        scratch: the ports experiments may use for specific blocks and binds.
        elevated: whether the experiments run as an elevated administrator.
        capabilities: what the lab can do beyond one process (:data:`CAPABILITIES`).
        evidence: the calls of the running experiment, as text.
    """

    name: str
    capabilities: frozenset[str]

    def __init__(self, *, scratch: PortRange, elevated: bool) -> None:
        if not isinstance(scratch, PortRange):
            raise TypeError(f"scratch must be a PortRange, not {type(scratch).__name__}")
        self.scratch, self.elevated = scratch, elevated
        # Whether experiments may ask netsh to delete a row the probe did not make (X7):
        # off unless the person running the probe says so (--allow-system-rows).
        self.allow_system_rows = False
        self.evidence: list[str] = []
        #: The machine-wide changes not yet restored (see :meth:`change`).
        self.journal = Journal()
        self._pools: list[_TrackedPool] = []
        self._deferred: list[tuple[str, Callable[[], object]]] = []
        self._main: _TrackedPool | None = None

    # --- processes -----------------------------------------------------------------

    @property
    def main(self) -> PortPool:
        """This experiment's first process (elevated when the lab is)."""
        if self._main is None:
            self._main = self._track(self.elevated, "main")
        return self._main

    def other(self) -> PortPool:
        """Another process on the same machine, with the lab's elevation.

        Raises:
            Skip: the lab has no second process (capability ``other-process``).
        """
        self.need("other-process")
        return self._track(self.elevated, "other")

    def unprivileged(self) -> PortPool:
        """A process without administrator rights.

        Raises:
            Skip: the lab cannot make one (capability ``unprivileged``).
        """
        if self.elevated:
            self.need("unprivileged")
        return self._track(False, "other" if self.elevated else "main")

    def elevated_pool(self) -> PortPool:
        """An elevated process (the main one when the lab is elevated).

        Raises:
            Skip: the lab is not elevated.
        """
        if not self.elevated:
            raise Skip("needs an elevated administrator")
        return self.main

    def exit(self, pool: PortPool) -> None:
        """End ``pool``'s process without closing its sockets (as ``taskkill /F``).

        Raises:
            Skip: the lab cannot (capability ``exit``).
            ValueError: ``pool`` is not one of the lab's processes.
        """
        self.need("exit")
        tracked = [p for p in self._pools if p is pool]
        if not tracked:
            raise ValueError("exit: not a process of this lab's running experiment")
        self._exit(tracked[0])
        tracked[0].sockets.clear()

    def need(self, capability: str) -> None:
        """Raise :class:`Skip` unless the lab has ``capability``."""
        if capability not in self.capabilities:
            raise Skip(f"needs {capability}, which the {self.name} backend cannot give")

    def _track(self, admin: bool, kind: str) -> _TrackedPool:
        inner, handle = self._open(admin, kind)
        pool = _TrackedPool(inner, admin, handle)
        self._pools.append(pool)
        return pool

    # --- evidence ------------------------------------------------------------------

    def see(self, label: str, call: Callable[[], Any]) -> Seen:
        """Make ``call``, record it as evidence and return what came of it.

        Only :class:`~portpool.PortPoolError` is caught: anything else is the
        experiment's own failure and reaches the runner.
        """
        try:
            value = call()
        except PortPoolError as exc:
            seen = Seen(label, None, exc.winerror)
        else:
            seen = Seen(label, value, None)
        self.evidence.append(seen.text())
        return seen

    def note(self, text: str) -> None:
        """Add a line of evidence that is not a call."""
        self.evidence.append(text)

    # --- netsh ---------------------------------------------------------------------

    def netsh(self, words: str, *, quiet: bool = False) -> NetshRun:
        """Run netsh with the lab's elevation; the command and its result become
        evidence (unless ``quiet``)."""
        run = self._netsh(words)
        if quiet:
            return run
        first = next((line.strip() for line in run.output.splitlines() if line.strip()), "")
        shown = "ok" if run.ok else (code_text(run.code) if run.code is not None else "refused")
        self.evidence.append(f"netsh {words} -> {shown}" + ("" if run.ok else f": {first!r}"))
        return run

    def exclusions(self, protocol: Protocol, *, v6: bool = False) -> list[ExcludedRange]:
        """The rows ``netsh int ipv4|ipv6 show excludedportrange`` lists now.

        Raises:
            Skip: netsh's output could not be read.
        """
        word = "udp" if protocol is Protocol.UDP else "tcp"
        run = self._netsh(f"int {'ipv6' if v6 else 'ipv4'} show excludedportrange protocol={word}")
        try:
            return parse_excluded_ranges(run.output)
        except NetshParseError as exc:
            raise Skip(f"netsh show excludedportrange printed no table: {exc}") from None

    def dynamic(self, protocol: Protocol, *, v6: bool = False) -> PortRange:
        """The dynamic range ``netsh int ipv4|ipv6 show dynamicport`` shows.

        Raises:
            Skip: netsh's output could not be read.
        """
        word = "udp" if protocol is Protocol.UDP else "tcp"
        run = self._netsh(f"int {'ipv6' if v6 else 'ipv4'} show dynamicport {word}")
        try:
            return parse_dynamic_port(run.output)
        except NetshParseError as exc:
            raise Skip(f"netsh show dynamicport printed no range: {exc}") from None

    def set_dynamic(self, protocol: Protocol, start: int, count: int, *, v6: bool = False) -> NetshRun:
        """``netsh int ipv4|ipv6 set dynamicport``; the range in force now is restored by
        :meth:`undo`.

        Raises:
            Skip: the lab is not elevated.
        """
        if not self.elevated:
            raise Skip("needs an elevated administrator")
        word = "udp" if protocol is Protocol.UDP else "tcp"
        version = "ipv6" if v6 else "ipv4"
        before = self.dynamic(protocol, v6=v6)
        # store=active: netsh's default store for set is persistent, which would keep a
        # shrunk range across reboots should the probe be killed before it restores.
        return self.change(f"int {version} set dynamicport {word} start={start} num={count}"
                           " store=active",
                           f"int {version} set dynamicport {word} start={before.start}"
                           f" num={before.count} store=active",
                           f"restore the {version} {word} dynamic range")

    def change(self, words: str, undo: str, what: str) -> NetshRun:
        """A machine-wide netsh change, journalled first and undone by :meth:`undo`.

        The undoing words go to :attr:`journal` before ``words`` run, and leave it only
        once they ran: a probe killed in between restores at its next start
        (:meth:`recover`).
        """
        entry = self.journal.add(what, undo)
        run = self.netsh(words)
        if not run.ok:
            self.journal.done(entry)
            return run

        def restore() -> NetshRun:
            done = self.netsh(undo, quiet=True)
            if done.ok:
                self.journal.done(entry)
            return done

        self.defer(what, restore)
        return run

    def recover(self) -> list[str]:
        """Run the restores a previous, interrupted probe left in the journal.

        Returns:
            The ones that failed (they stay in the journal), as text.
        """
        problems: list[str] = []
        for entry, what, undo in self.journal.pending():
            done = self._netsh(undo)
            if done.ok:
                self.journal.done(entry)
                self.evidence.append(f"recovered: {what} (netsh {undo})")
            else:
                problems.append(f"{what}: netsh {undo} refused: {done.output.strip()!r}")
        return problems

    # --- the machine ---------------------------------------------------------------

    def dlls(self) -> tuple[Any, Any]:
        """The ``(ws2_32, iphlpapi)`` pair of a process of the machine (elevated as the lab).

        Raises:
            Skip: the lab has no DLLs (capability ``dlls``).
        """
        self.need("dlls")
        return self._dlls()

    def reboot(self) -> None:
        """Restart the machine (capability ``reboot``)."""
        self.need("reboot")
        self._reboot()

    def component(self, protocol: Protocol, start: int, count: int) -> None:
        """A Windows component places a system exclusion (capability ``component``);
        :meth:`undo` stops the component."""
        self.need("component")
        self._component(protocol, start, count)

    def listener(self) -> Address:
        """The address of a listening TCP socket on the machine (closed by :meth:`undo`)."""
        return self._listener()

    def defer(self, what: str, action: Callable[[], object]) -> None:
        """Run ``action`` at :meth:`undo` (last deferred, first run)."""
        self._deferred.append((what, action))

    def undo(self) -> list[str]:
        """Undo everything the running experiment made; start afresh.

        Closes every socket, deletes every persistent reservation the lab's pools
        created, runs the deferred actions, closes the pools.

        Returns:
            What could not be undone (empty when all went well).
        """
        problems: list[str] = []
        pools, self._pools, self._main = self._pools, [], None
        for pool in pools:
            for sock in reversed(pool.sockets):
                with contextlib.suppress(PortPoolError):
                    sock.close()
        for pool in pools:
            for protocol, start, count in list(pool.persistent):
                try:
                    try:
                        if not pool.admin:
                            raise Skip("not elevated")
                        pool.inner.delete_persistent_reservation(protocol, start, count)
                    except (PortPoolError, Skip):  # gone with a reboot, or not elevated
                        fresh = self._track(True, "main")
                        fresh.inner.delete_persistent_reservation(protocol, start, count)
                except (PortPoolError, Skip) as exc:
                    problems.append(f"delete the persistent {protocol.name} block"
                                    f" {start}+{count}: {exc}")
        deferred, self._deferred = self._deferred, []
        for what, action in reversed(deferred):
            try:
                result = action()
            except (PortPoolError, OSError) as exc:
                problems.append(f"{what}: {exc}")
            else:
                if isinstance(result, NetshRun) and not result.ok:
                    problems.append(f"{what}: netsh refused: {result.output.strip()!r}")
        for pool in [*pools, *self._pools]:
            with contextlib.suppress(PortPoolError):
                pool.close()
        self._pools, self._main = [], None
        self.evidence = []
        return problems

    # --- what each lab provides ----------------------------------------------------

    @abc.abstractmethod
    def machine(self) -> dict[str, Any]:
        """The profile's ``machine`` entry."""

    @abc.abstractmethod
    def _open(self, admin: bool, kind: str) -> tuple[PortPool, object]:
        """A new process's pool (``kind`` "main" or "other") and a handle for :meth:`_exit`."""

    @abc.abstractmethod
    def _netsh(self, words: str) -> NetshRun:
        """Run netsh with the lab's elevation."""

    def _exit(self, pool: _TrackedPool) -> None:
        raise Skip("cannot end a process here")

    def _dlls(self) -> tuple[Any, Any]:
        raise Skip("no DLLs here")

    def _reboot(self) -> None:
        raise Skip("cannot reboot here")

    def _component(self, protocol: Protocol, start: int, count: int) -> None:
        raise Skip("no component here")

    def _listener(self) -> Address:
        raise Skip("no listener here")


class EmulatedLab(Lab):
    """An :class:`~portpool.EmulatedHost` as a lab.

    Args:
        host: the machine.
        via: ``"emulated"`` (the emulated backend) or ``"ctypes"`` (the ctypes backend
            over the host's emulated DLLs).
        elevated: whether the experiments run elevated (default ``True``, as an
            administrator runs ``portpool probe``).
        scratch: as for :class:`Lab`.

    Raises:
        ValueError: ``via`` is neither.
    """

    capabilities = frozenset(CAPABILITIES)

    def __init__(self, host: EmulatedHost, *, via: str = "emulated", elevated: bool = True,
                 scratch: PortRange = DEFAULT_SCRATCH) -> None:
        if via not in ("emulated", "ctypes"):
            raise ValueError(f"via must be 'emulated' or 'ctypes', not {via!r}")
        super().__init__(scratch=scratch, elevated=elevated)
        self.host, self.name = host, via

    def machine(self) -> dict[str, Any]:
        """The emulated machine: the backend and the alternatives in force."""
        return {"backend": self.name, "emulated": True, "variants": dict(self.host.variants),
                "elevated": self.elevated, "python": _python(), "portpool": __version__}

    def _open(self, admin: bool, kind: str) -> tuple[PortPool, object]:
        if self.name == "emulated":
            process = self.host.process(admin=admin)
            return process, process
        dlls = self.host.dlls(admin=admin)
        return load_backend("windows")(dlls=dlls), dlls

    def _exit(self, pool: _TrackedPool) -> None:
        pool.handle.exit()  # type: ignore[attr-defined]  # EmulatedProcess or EmulatedDlls

    def _netsh(self, words: str) -> NetshRun:
        result = self.host.run_netsh(words, admin=self.elevated)
        return NetshRun(result.output, result.done,
                        None if result.error is None else int(result.error))

    def _dlls(self) -> tuple[Any, Any]:
        dlls = self.host.dlls(admin=self.elevated)
        self.defer("end the DLLs' process", dlls.exit)
        return dlls.ws2_32, dlls.iphlpapi

    def _reboot(self) -> None:
        self.host.reboot()

    def _component(self, protocol: Protocol, start: int, count: int) -> None:
        self.host.exclude(protocol, start, count, owner=_COMPONENT)
        self.defer("stop the component", lambda: self.host.release_exclusions(_COMPONENT))

    def _listener(self) -> Address:
        # A socket of the machine listens on the scratch block's last port (S9, T10).
        server = self.main.socket()
        server.bind(("127.0.0.1", self.scratch.last))
        server.listen(SOMAXCONN)
        address: Address = server.getsockname()
        return address


def _python() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


#: TOKEN_INFORMATION_CLASS's TokenElevation, and OpenProcessToken's TOKEN_QUERY (winnt.h).
_TOKEN_ELEVATION: Final = 20
_TOKEN_QUERY: Final = 0x0008


def is_elevated() -> bool:
    """Whether this process's token is elevated (Windows; else ``False``).

    Asks ``GetTokenInformation(TokenElevation)``, the direct question
    (learn.microsoft.com/windows/win32/api/winnt/ns-winnt-token_elevation), rather than
    ``IsUserAnAdmin``, which Microsoft says "might be altered or unavailable in
    subsequent versions"; that one is the fallback should the token not open.
    """
    loader: Any = getattr(ctypes, "WinDLL", None)  # Windows only (mypy sees one platform)
    if loader is None:
        return False
    advapi32, kernel32 = loader("advapi32", use_last_error=True), loader("kernel32")
    kernel32.GetCurrentProcess.restype = ctypes.c_void_p
    kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
    advapi32.OpenProcessToken.argtypes = (ctypes.c_void_p, ctypes.c_uint32,
                                          ctypes.POINTER(ctypes.c_void_p))
    advapi32.GetTokenInformation.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                             ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))
    token = ctypes.c_void_p()
    if advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), _TOKEN_QUERY, ctypes.byref(token)):
        try:
            elevation, size = ctypes.c_uint32(), ctypes.c_uint32()
            if advapi32.GetTokenInformation(token, _TOKEN_ELEVATION, ctypes.byref(elevation),
                                            ctypes.sizeof(elevation), ctypes.byref(size)):
                return bool(elevation.value)
        finally:
            kernel32.CloseHandle(token)
    return bool(loader("shell32").IsUserAnAdmin())


class WindowsLab(Lab):
    """The machine this process runs on: the real DLLs, netsh.exe, child processes.

    Args:
        scratch: as for :class:`Lab`.
        child_backend: the backend the other processes open (``"windows"``; the tests
            use ``"emulated"`` to check the machinery off Windows).
        dlls: the ``(ws2_32, iphlpapi)`` pair for this process, or an
            :class:`~portpool.EmulatedDlls` (which unpacks as one); ``None``: the real ones.
        netsh: runs netsh's words and returns ``(exit status, output)`` (default: netsh.exe,
            its output decoded in the console's output code page).
        elevated: whether this process is elevated (default: asked of Windows).
        messages: the system's text for a Windows code, in the machine's language
            (default: ``FormatMessageW``), so that a refusal in any display language is
            given its code.  A non-zero exit status is a failure whatever the text.
        journal: the restore journal's file (``portpool probe`` gives
            :data:`~portpool._probes._journal.DEFAULT_JOURNAL`); ``None``: in memory only.
        unprivileged_launcher: starts a child process without administrator rights
            beside an elevated lab (capability ``unprivileged``; see ``_child.py``).
            Default: ``runas /trustlevel:0x20000`` on Windows, none elsewhere.
    """

    name = "windows"
    capabilities = frozenset({"other-process", "exit", "dlls"})

    def __init__(self, *, scratch: PortRange = DEFAULT_SCRATCH, child_backend: str = "windows",
                 dlls: tuple[Any, Any] | EmulatedDlls | None = None,
                 netsh: Callable[[list[str]], tuple[int, str]] | None = None,
                 elevated: bool | None = None, messages: SystemMessage | None = None,
                 journal: str | os.PathLike[str] | None = None,
                 unprivileged_launcher: Callable[[list[str]], None] | None = None) -> None:
        super().__init__(scratch=scratch, elevated=is_elevated() if elevated is None else elevated)
        self._child_backend, self._dll_pair = child_backend, dlls
        self._run_netsh = netsh or _real_netsh
        self._codes = failure_texts(messages)
        self.journal = Journal(journal)
        self._launcher = unprivileged_launcher
        if self._launcher is None and sys.platform == "win32":
            self._launcher = basic_user_launcher
        if not self.elevated or self._launcher is not None:
            self.capabilities = self.capabilities | {"unprivileged"}

    def machine(self) -> dict[str, Any]:
        """Windows' version and build, elevation, Python, portpool."""
        info: dict[str, Any] = {"backend": "windows", "emulated": False, "elevated": self.elevated,
                                "python": _python(), "portpool": __version__,
                                "platform": sys.platform}
        if sys.platform == "win32":
            version = sys.getwindowsversion()
            info["windows"] = f"{version.major}.{version.minor}.{version.build}"
            info["build"] = version.build
            info["service_pack"] = version.service_pack
            info["platform_version"] = ".".join(str(v) for v in version.platform_version)
        return info

    def _open(self, admin: bool, kind: str) -> tuple[PortPool, object]:
        if kind == "main":
            return load_backend("windows")(dlls=self._dll_pair), None
        if not admin and self.elevated:  # a process with less privilege than this one
            if self._launcher is None:
                raise Skip("needs a non-elevated process, which this lab cannot start")
            try:
                child = ChildPool(self._child_backend, launch=self._launcher)
            except PortPoolError as exc:
                raise Skip(f"a non-elevated process could not be started: {exc}") from None
            return child, child
        child = ChildPool(self._child_backend)
        return child, child

    def _exit(self, pool: _TrackedPool) -> None:
        pool.handle.kill()  # type: ignore[attr-defined]  # a ChildPool

    def _netsh(self, words: str) -> NetshRun:
        status, output = self._run_netsh(words.split())
        code = find_code(output, self._codes)  # any display language (FormatMessageW)
        ok = status == 0 and (code is None or code == 0)  # a non-zero status fails, any text
        return NetshRun(output, ok, None if ok else code)

    def _dlls(self) -> tuple[Any, Any]:
        if self._dll_pair is not None:
            ws2, iph = self._dll_pair
            return ws2, iph
        return (ctypes.WinDLL("ws2_32", use_last_error=True),  # type: ignore[attr-defined,unused-ignore]
                ctypes.WinDLL("iphlpapi"))  # type: ignore[attr-defined,unused-ignore]

    def _listener(self) -> Address:
        server = _pysocket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        self.defer("close the listener", server.close)
        address: Address = server.getsockname()
        return address


def _real_netsh(words: list[str]) -> tuple[int, str]:
    """Run netsh.exe (Windows); its output decoded in the console's output code page
    (``GetConsoleOutputCP``, what ``chcp`` sets), else the OEM code page."""
    command = ["netsh", *words]
    done = subprocess.run(command, capture_output=True, check=False,  # noqa: S603 - netsh from PATH with the probe's own words
                          timeout=60)
    return done.returncode, decode_console_output(done.stdout)
